"""The web-facing attacks, each replayed against a live server, each refused or harmless."""

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import sync_playwright

from calls.models import Call
from tests.call_log_data import call_family, callback
from tests.conftest import TEST_ACCOUNT_SID, celery_broker
from tests.factories import DEFAULT_PASSWORD, AgentFactory, CallFactory, UserFactory
from tests.test_call_log_browser import CHROMIUM, CHROMIUM_ARGS
from tests.twilio_requests import post_signed_over_http
from tokens.models import ApiToken
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db(transaction=True)

WRONG_PASSWORD = "not-the-password"


def logged_in(live_server, username: str, password: str = DEFAULT_PASSWORD) -> requests.Session:
    """A browser-like session that logged in through /login/ (CSRF cookie and field)."""
    session = requests.Session()
    session.post(live_server.url + "/login/", login_form(session, live_server, username, password))
    return session


def login_form(session, live_server, username: str, password: str) -> dict[str, str]:
    page = session.get(live_server.url + "/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    return {"csrfmiddlewaretoken": csrf[1], "username": username, "password": password}


def api_login(live_server, username: str, password: str, **extra) -> requests.Response:
    return requests.post(
        live_server.url + "/api/auth/token/",
        data={"username": username, "password": password, **extra},
    )


def test_stored_xss_javascript_error_url_is_neither_stored_nor_run_when_clicked(live_server):
    family = call_family(from_number="+12125550123", to_number="+14155550100")
    form = {
        "AccountSid": TEST_ACCOUNT_SID,
        "CallSid": family.sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": "+12125550123",
        "To": "+14155550100",
        "ErrorCode": "11200",
        "ErrorUrl": "javascript:void(document.title='stolen')",
    }
    url = live_server.url + "/twilio/voice/fallback/"
    stored = post_signed_over_http(url, form)
    assert stored.status_code == 200
    assert Call.objects.get(sid=family.sid).error_url == ""
    # A row written before this fix still holds such a URL: the page must not link it.
    Call.objects.filter(sid=family.sid).update(error_url="javascript:void(document.title='stolen')")
    analyst = UserFactory(groups=[ANALYSTS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{live_server.url}/login/?next=/calls/{family.sid}/")
        page.fill("#id_username", analyst.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        error_row = page.locator("tr.error-row")
        links = error_row.locator("a").count()
        error_row.get_by_text("11200").click()
        page.wait_for_timeout(200)
        title = page.title()
        browser.close()

    assert "stolen" not in title
    assert links == 0


def test_every_page_sends_a_content_security_policy_without_inline_script(live_server):
    session = logged_in(live_server, UserFactory(is_staff=True, groups=[SUPERVISORS]).username)

    for path in ["/login/", "/", "/calls/", "/calls/stats/", "/api/docs/", "/admin/"]:
        policy = session.get(live_server.url + path).headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self'", path
        assert directives["report-uri"] == "/csp-report/", path


def test_pages_and_swagger_ui_run_under_the_policy_without_a_violation(live_server):
    family = call_family(children=[{"status": "completed", "duration": 30}])
    callback(family, "completed", 1)
    supervisor = UserFactory(is_staff=True, groups=[SUPERVISORS])
    violations = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", supervisor.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        for path in [
            "/calls/",
            f"/calls/{family.sid}/",
            "/calls/stats/",
            "/admin/",
            "/admin/agents/agent/add/",
            "/admin/calls/call/",
            "/admin/twilio-setup/",
        ]:
            page.goto(live_server.url + path)
        page.goto(f"{live_server.url}/api/docs/")
        page.locator(".swagger-ui .opblock-summary-path").first.wait_for()
        browser.close()

    assert violations == []


def test_reported_policy_violations_are_logged(client, caplog):
    report = b'{"csp-report": {"violated-directive": "script-src", "blocked-uri": "inline"}}'

    response = client.post("/csp-report/", report, content_type="application/csp-report")

    assert response.status_code == 204
    assert "Content-Security-Policy violation" in caplog.text
    assert "script-src" in caplog.text


def test_password_guessing_on_the_token_api_locks_the_username_out_even_for_the_right_password(
    live_server, settings
):
    UserFactory(username="dana")

    answers = [
        api_login(live_server, "dana", WRONG_PASSWORD).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT + 2)
    ]
    right = api_login(live_server, "dana", DEFAULT_PASSWORD)

    assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429
    assert right.status_code == 429
    assert "locked out" in right.json()["detail"]
    assert not ApiToken.objects.exists()


def test_password_guessing_on_the_login_page_shows_a_lockout_message(live_server, settings):
    UserFactory(username="erin")
    session = requests.Session()

    for _ in range(settings.AXES_FAILURE_LIMIT):
        session.post(
            live_server.url + "/login/", login_form(session, live_server, "erin", WRONG_PASSWORD)
        )
    right = session.post(
        live_server.url + "/login/", login_form(session, live_server, "erin", DEFAULT_PASSWORD)
    )

    assert right.status_code == 429
    assert "Too many failed logins" in right.text
    assert session.get(live_server.url + "/api/token/").status_code in (401, 403)


def test_unknown_and_existing_usernames_get_the_same_answer(live_server):
    UserFactory(username="gina")

    existing = api_login(live_server, "gina", WRONG_PASSWORD)
    unknown = api_login(live_server, "nobody", WRONG_PASSWORD)

    assert (existing.status_code, existing.json()) == (unknown.status_code, unknown.json())


def test_a_supervisor_sees_and_lifts_a_lockout_in_the_admin(live_server, settings):
    UserFactory(username="hank")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_login(live_server, "hank", WRONG_PASSWORD)
    assert api_login(live_server, "hank", DEFAULT_PASSWORD).status_code == 429
    supervisor = UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS])
    admin = logged_in(live_server, supervisor.username)
    changelist = live_server.url + reverse("admin:axes_accessattempt_changelist")

    listing = admin.get(changelist)
    attempt_ids = re.findall(r'name="_selected_action" value="(\d+)"', listing.text)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', listing.text)[1]
    lifted = admin.post(
        changelist,
        {"action": "delete_selected", "_selected_action": attempt_ids, "post": "yes",
         "csrfmiddlewaretoken": csrf},
    )  # fmt: skip

    assert "hank" in listing.text
    assert lifted.status_code == 200
    assert api_login(live_server, "hank", DEFAULT_PASSWORD).status_code == 200


def test_simultaneous_logins_never_leave_a_user_more_api_tokens_than_the_cap(live_server, settings):
    settings.API_TOKENS_PER_USER = 2
    UserFactory(username="jill")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _: api_login(live_server, "jill", DEFAULT_PASSWORD), range(8))
        )

    assert {answer.status_code for answer in answers} == {200}
    assert ApiToken.objects.filter(user__username="jill").count() == 2


def test_stolen_api_token_stops_working_after_a_password_change(live_server):
    agent = AgentFactory(user__username="ivy")
    stolen = api_login(live_server, "ivy", DEFAULT_PASSWORD).json()["token"]

    agent.user.set_password("a-brand-new-password-42")
    agent.user.save()
    response = requests.get(
        live_server.url + "/api/token/", headers={"Authorization": f"Token {stolen}"}
    )

    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_api_token_expires_after_api_token_ttl(live_server):
    AgentFactory(user__username="jack")
    key = api_login(live_server, "jack", DEFAULT_PASSWORD).json()["token"]
    ApiToken.objects.update(
        created_at=timezone.now() - timedelta(days=31), expires_at=timezone.now()
    )

    response = requests.get(
        live_server.url + "/api/token/", headers={"Authorization": f"Token {key}"}
    )

    assert response.status_code == 401


def test_each_device_gets_its_own_token_and_delete_logs_only_that_device_out(live_server):
    AgentFactory(user__username="kim")
    phone = api_login(live_server, "kim", DEFAULT_PASSWORD, name="phone").json()["token"]
    laptop = api_login(live_server, "kim", DEFAULT_PASSWORD, name="laptop").json()["token"]
    token_url = live_server.url + "/api/token/"

    logout = requests.delete(
        live_server.url + "/api/auth/token/", headers={"Authorization": f"Token {phone}"}
    )

    assert logout.status_code == 204
    assert requests.get(token_url, headers={"Authorization": f"Token {phone}"}).status_code == 401
    assert requests.get(token_url, headers={"Authorization": f"Token {laptop}"}).status_code == 200
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["laptop"]


def test_deactivating_a_user_revokes_its_api_tokens(live_server):
    agent = AgentFactory(user__username="lee")
    api_login(live_server, "lee", DEFAULT_PASSWORD)

    agent.user.is_active = False
    agent.user.save()

    assert not ApiToken.objects.exists()


def test_only_the_tokens_hash_is_stored(live_server):
    AgentFactory(user__username="max")
    key = api_login(live_server, "max", DEFAULT_PASSWORD).json()["token"]

    stored = ApiToken.objects.get()

    assert key not in {stored.key_hash, stored.password_digest}
    assert len(stored.key_hash) == 64


def test_a_supervisor_lists_and_revokes_devices_in_the_admin(live_server):
    AgentFactory(user__username="ned")
    key = api_login(live_server, "ned", DEFAULT_PASSWORD, name="Ned's tablet").json()["token"]
    admin = logged_in(live_server, UserFactory(is_staff=True, groups=[SUPERVISORS]).username)
    token = ApiToken.objects.get()
    delete_url = live_server.url + reverse("admin:tokens_apitoken_delete", args=[token.pk])

    listing = admin.get(live_server.url + reverse("admin:tokens_apitoken_changelist"))
    page = admin.get(delete_url)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    admin.post(delete_url, {"post": "yes", "csrfmiddlewaretoken": csrf})

    assert "Ned&#x27;s tablet" in listing.text
    assert not ApiToken.objects.exists()
    response = requests.get(
        live_server.url + "/api/token/", headers={"Authorization": f"Token {key}"}
    )
    assert response.status_code == 401


def test_csv_formula_injection_is_neutralised_but_e164_numbers_stay(live_server):
    call_family(
        from_number='=HYPERLINK("https://evil.example","x")',
        to_number="+14155550100",
        children=[{"from_number": "@SUM(1+1)", "to_number": "-2+3"}],
    )
    analyst = logged_in(live_server, UserFactory(groups=[ANALYSTS]).username)

    export = analyst.get(live_server.url + reverse("calls:export"))

    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {(row["from"], row["to"]) for row in rows} == {
        ('\'=HYPERLINK("https://evil.example","x")', "+14155550100"),
        ("'@SUM(1+1)", "'-2+3"),
    }


def admin_reconcile(session, live_server, calls) -> requests.Response:
    changelist = live_server.url + reverse("admin:calls_call_changelist")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(changelist).text)[1]
    return session.post(
        changelist,
        {
            "action": "reconcile_with_twilio",
            "_selected_action": [call.pk for call in calls],
            "csrfmiddlewaretoken": csrf,
        },
    )


def test_analysts_cannot_run_reconcile_with_twilio(live_server):
    call = CallFactory()
    analyst = logged_in(live_server, UserFactory(is_staff=True, groups=[ANALYSTS]).username)

    response = admin_reconcile(analyst, live_server, [call])

    assert "for reconciliation with Twilio" not in response.text
    assert 'value="reconcile_with_twilio"' not in response.text


@pytest.fixture
def celery_broker_in_memory():
    """Queue tasks in this process's memory, where no worker takes them: a queued call stays
    queued, and no worker of another test (on the same Redis) sees or runs these tasks."""
    with celery_broker("memory://"):
        yield


def test_a_call_already_queued_for_reconcile_is_not_queued_again(
    live_server, celery_broker_in_memory
):
    call = CallFactory()
    supervisor = logged_in(live_server, UserFactory(is_staff=True, groups=[SUPERVISORS]).username)

    first = admin_reconcile(supervisor, live_server, [call])
    second = admin_reconcile(supervisor, live_server, [call])

    assert "Queued 1 call(s) for reconciliation with Twilio." in first.text
    assert "Queued 0 call(s) for reconciliation with Twilio." in second.text
    assert "1 already waiting were not queued again" in second.text


def test_api_schema_and_docs_need_a_login(live_server):
    schema = requests.get(live_server.url + "/api/schema/")
    docs = requests.get(live_server.url + "/api/docs/", allow_redirects=False)
    script = requests.get(live_server.url + "/api/docs/?script", allow_redirects=False)

    assert schema.status_code == 401
    assert (docs.status_code, docs.headers["Location"]) == (302, "/login/?next=/api/docs/")
    assert script.status_code == 302


def test_family_page_and_api_show_the_latest_events_and_all_on_request(live_server):
    family = call_family()
    # Four-digit sequence numbers: the helper's delivery digests stay distinct.
    for number in range(1001, 1131):
        callback(family, "ringing", number)
    analyst = logged_in(live_server, UserFactory(groups=[ANALYSTS]).username)
    page_url = f"{live_server.url}/calls/{family.sid}/"
    api_url = f"{live_server.url}/api/calls/{family.sid}/"

    page = analyst.get(page_url).text
    everything = analyst.get(page_url, params={"events": "all"}).text
    api = analyst.get(api_url).json()
    api_all = analyst.get(api_url, params={"events": "all"}).json()

    assert page.count("<li>") == 100
    assert 'href="?events=all"' in page
    assert everything.count("<li>") == 130
    assert [event["sequence_number"] for event in api["events"]] == list(range(1130, 1030, -1))
    assert api["more_events"] is True
    assert (len(api_all["events"]), api_all["more_events"]) == (130, False)


def test_api_login_answers_503_when_the_database_is_down(client, database_down):
    response = client.post("/api/auth/token/", {"username": "olga", "password": WRONG_PASSWORD})

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; try again shortly."}
