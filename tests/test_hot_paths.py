"""The two hot paths as gunicorn serves them: Twilio's webhooks and /api/token/ through lean
handlers, and token owners remembered for at most a second in each worker process."""

import http.client
import runpy
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import global_settings, settings
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from calls.webhooks import urls as webhook_urls
from tests.conftest import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID
from tests.factories import DEFAULT_PASSWORD, AgentFactory, api_token_header
from tests.test_production import (  # noqa: F401  (fixtures)
    processes,
    production_environment,
    run_manage,
    start_web_server,
)
from tests.twilio_requests import post_signed_over_http
from tokens.authentication import RecentTokenOwners, api_token_key, decided_by_api_token
from tokens.models import ApiToken
from voiceproject.middleware import head_answered_without_body

URL = "/api/token/"
# What Chromium and Firefox send when a page is opened.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def two_workers(production_environment, processes, tmp_path):  # noqa: F811
    """gunicorn as operators start it, with two worker processes; yields its base URL."""
    # API tokens are bound to the password through SECRET_KEY: the server must share ours.
    env = {
        **production_environment,
        "WEB_CONCURRENCY": "2",
        "SECRET_KEY": settings.SECRET_KEY,
        # The test settings' key is the development one, which production refuses.
        "ALLOW_UNSAFE": "weak-secret-key",
    }
    collected = run_manage("collectstatic", "--no-input", "-v0", **env)
    assert collected.returncode == 0, collected.stderr
    return start_web_server(processes, env, tmp_path)


def seconds_until_every_answer_is(status: int, *, url: str, headers: dict) -> float:
    """Ask again and again, on new connections so that both workers answer; the time from now
    until the first answer of a run of 20 with `status`."""
    began = time.monotonic()
    first_of_run, run = None, 0
    while run < 20 and time.monotonic() - began < 10:
        answer = requests.get(url, headers=headers, timeout=5).status_code
        if answer == status:
            first_of_run = first_of_run if run else time.monotonic()
            run += 1
        else:
            run = 0
    assert run == 20, f"still not {status} after 10 s"
    return first_of_run - began


def deactivate_user(agent):
    agent.user.is_active = False
    agent.user.save()


def change_password(agent):
    agent.user.set_password("a brand new password")
    agent.user.save()


def deactivate_agent(agent):
    agent.is_active = False
    agent.save()


def revoke_token(agent):
    ApiToken.objects.filter(user=agent.user).delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "status"),
    [
        (deactivate_user, 401),
        (change_password, 401),
        (deactivate_agent, 403),
        (revoke_token, 401),
    ],
)
def test_a_change_made_in_another_process_reaches_every_worker_within_a_second(
    two_workers, change, status
):
    agent = AgentFactory()
    headers = api_token_header(agent.user)
    for _ in range(20):  # both workers now remember the token's owner
        assert requests.get(two_workers + URL, headers=headers, timeout=5).status_code == 200

    change(agent)
    waited = seconds_until_every_answer_is(status, url=two_workers + URL, headers=headers)

    assert waited <= RecentTokenOwners.MAX_AGE + 0.25


@pytest.mark.django_db(transaction=True)
def test_hot_paths_skip_the_pages_middleware_and_pages_keep_it(two_workers):
    agent = AgentFactory()
    callback = {
        "AccountSid": TEST_ACCOUNT_SID,
        "CallSid": "CA" + "1" * 32,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+12125550123",
        "To": "+14155550100",
    }

    webhook = post_signed_over_http(two_workers + "/twilio/status/", callback)
    token = requests.get(two_workers + URL, headers=api_token_header(agent.user), timeout=5)
    page = requests.get(two_workers + "/login/", timeout=5)

    assert webhook.status_code == 204
    assert token.status_code == 200
    for answer in (webhook, token):
        assert "Content-Security-Policy" not in answer.headers
        assert "Set-Cookie" not in answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in token.headers["Cache-Control"]
    assert "Content-Security-Policy" in page.headers
    assert page.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db(transaction=True)
def test_head_is_answered_with_gets_headers_and_no_body_to_drop(two_workers, tmp_path):
    agent = AgentFactory()
    headers = api_token_header(agent.user)

    token = requests.head(two_workers + URL, headers=headers, timeout=5)
    page = requests.head(two_workers + "/login/", timeout=5)
    page_as_get = requests.get(two_workers + "/login/", timeout=5)

    assert (token.status_code, page.status_code) == (200, 200)
    assert token.headers["Content-Type"] == "application/json"
    assert page.headers["Content-Length"] == str(len(page_as_get.content))
    assert "no-body response" not in (tmp_path / "gunicorn.log").read_text()


def test_a_streamed_answer_to_head_is_never_produced():
    produced = []

    def export(request):
        return StreamingHttpResponse(produced.append(row) or row for row in ["a,b\n", "1,2\n"])

    response = head_answered_without_body(export)(RequestFactory().head("/calls/export.csv"))

    assert list(response.streaming_content) == []
    assert produced == []


@pytest.mark.django_db(transaction=True)
def test_hot_paths_still_refuse_a_host_not_allowed(two_workers):
    answer = requests.get(two_workers + URL, headers={"Host": "evil.example"}, timeout=5)

    assert answer.status_code == 400


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_server_answers_a_health_check_by_address_and_nothing_else(two_workers, method):
    """nginx's `location = /healthz { proxy_pass http://127.0.0.1:8000; }` sends
    Host: 127.0.0.1:8000, which ALLOWED_HOSTS (127.0.0.1 here, a name in production) lacks."""
    by_address = {"Host": "10.0.0.7:8000"}

    health = requests.request(method, f"{two_workers}/healthz", headers=by_address, timeout=5)
    login = requests.request(method, f"{two_workers}/login/", headers=by_address, timeout=5)

    assert health.status_code == 200
    assert login.status_code == 400


@pytest.mark.django_db
def test_a_token_asked_again_within_a_second_costs_no_query(client, django_assert_num_queries):
    agent = AgentFactory()
    headers = api_token_header(agent.user)
    client.get(URL, headers=headers)

    with django_assert_num_queries(0):
        response = client.get(URL, headers=headers)

    assert response.json()["identity"] == agent.identity


@pytest.mark.django_db
def test_a_change_in_this_process_is_seen_at_once(client):
    agent = AgentFactory()
    headers = api_token_header(agent.user)
    client.get(URL, headers=headers)

    deactivate_agent(agent)

    assert client.get(URL, headers=headers).status_code == 403


@pytest.mark.django_db
def test_a_remembered_token_still_expires_on_time(client):
    agent = AgentFactory()
    headers = api_token_header(agent.user)
    ApiToken.objects.filter(user=agent.user).update(
        expires_at=timezone.now() + timedelta(seconds=1.5)  # time enough on a busy machine
    )
    assert client.get(URL, headers=headers).status_code == 200

    time.sleep(1.6)

    assert client.get(URL, headers=headers).status_code == 401


@pytest.mark.django_db
def test_a_browser_opening_the_token_url_gets_json_not_a_page(client):
    agent = AgentFactory()
    client.force_login(agent.user)

    response = client.get(URL, headers={"Accept": BROWSER_ACCEPT})

    assert response["Content-Type"] == "application/json"
    assert response.json()["identity"] == agent.identity


def test_every_twilio_webhook_takes_the_webhooks_lean_path():
    names = {f"webhooks:{pattern.name}" for pattern in webhook_urls.urlpatterns}

    assert {name: settings.HOT_PATH_MIDDLEWARE.get(name) for name in names} == dict.fromkeys(
        names, settings.WEBHOOK_MIDDLEWARE
    )


KEEPALIVE_REQUESTS = runpy.run_path(
    str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py")
)["KEEPALIVE_REQUESTS"]


@pytest.mark.django_db(transaction=True)
def test_a_kept_alive_connection_is_closed_after_its_share_of_requests(two_workers):
    address = urlsplit(two_workers)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    answers = []
    for _ in range(KEEPALIVE_REQUESTS):
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        answer.read()
        answers.append((answer.status, answer.getheader("Connection", "")))
    connection.close()

    assert answers[:-1] == [(200, "keep-alive")] * (KEEPALIVE_REQUESTS - 1)
    assert answers[-1] == (200, "close")


def logged_in_over_http(base: str, agent) -> requests.Session:
    """A browser's session, logged in at /login/ as the agent."""
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=5)
    login = browser.post(
        f"{base}/login/",
        data={
            "username": agent.user.username,
            "password": DEFAULT_PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        timeout=5,
    )
    assert "sessionid" in browser.cookies, login.text
    return browser


@pytest.fixture
def servers_password_hashing(settings):
    """Passwords hashed as the server's settings hash them: gunicorn knows no test hasher."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("servers_password_hashing")
def test_a_browsers_session_still_gets_its_token(two_workers):
    agent = AgentFactory()
    browser = logged_in_over_http(two_workers, agent)

    answer = browser.get(two_workers + URL, timeout=5)

    assert answer.status_code == 200
    assert answer.json()["identity"] == agent.identity


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("servers_password_hashing")
def test_an_api_token_decides_alone_beside_another_users_session(two_workers):
    device_owner, browser_user = AgentFactory(), AgentFactory()
    browser = logged_in_over_http(two_workers, browser_user)

    own = browser.get(two_workers + URL, headers=api_token_header(device_owner.user), timeout=5)
    forged = browser.get(two_workers + URL, headers={"Authorization": "Token nope"}, timeout=5)

    assert own.json()["identity"] == device_owner.identity
    assert forged.status_code == 401


# Authorization headers around the edges of DRF's reading: case, words, whitespace that
# only str.split() would split on, and a character outside the header encoding.
AUTHORIZATION_HEADERS = [
    "Token abc",
    "token abc",
    "TOKEN  abc ",
    "Token",
    "Token a b",
    "Token \xe9",
    "Token\xa0abc",
    "Tokenabc",
    "Bearer abc",
    "Basic dXNlcjpwYXNz",
    "",
    "Token \u2603",
]


class KeyOnlyTokenAuthentication(TokenAuthentication):
    """DRF's token authentication stopped where it would look the key up."""

    def authenticate_credentials(self, key):
        return ("checked", key)


def drf_reading(authorization: str):
    """What DRF's TokenAuthentication makes of the header: None when it leaves the request to
    the next class, the key it would check, "refused", or "unreadable" for a header outside
    its encoding (only a test client sends one; either path then fails alike)."""
    request = RequestFactory().get(URL, HTTP_AUTHORIZATION=authorization)
    try:
        answer = KeyOnlyTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return "refused"
    except UnicodeEncodeError:
        return "unreadable"
    return None if answer is None else answer[1]


@pytest.mark.parametrize("authorization", AUTHORIZATION_HEADERS)
def test_the_lean_token_path_is_taken_exactly_when_drf_reads_an_api_token(authorization):
    expected = drf_reading(authorization) not in (None, "unreadable")

    assert decided_by_api_token(authorization) == expected


@pytest.mark.parametrize("authorization", AUTHORIZATION_HEADERS)
def test_the_short_way_checks_only_the_key_drf_would_check(authorization):
    reading = drf_reading(authorization)
    expected = None if reading in (None, "refused", "unreadable") else reading

    assert api_token_key(authorization) == expected


# Run by manage.py shell on the embedded default database: an agent's device asks for a token
# with its API token, read by the token endpoint's own SQL rather than the ORM.
DEVICE_ON_SQLITE = """
from django.contrib.auth import get_user_model
from django.test import Client
from agents.models import Agent, TwimlApp
from tokens.api_tokens import api_token_create

app = TwimlApp.objects.create(sid="AP" + "c3" * 16, friendly_name="Embedded")
user = get_user_model().objects.create_user("embedded_agent")
Agent.objects.create(user=user, identity="embedded_agent", twiml_app=app)
key = api_token_create(user=user, name="phone").key
for _ in range(2):  # read from the database, then remembered
    answer = Client(HTTP_HOST="127.0.0.1").get("/api/token/", HTTP_AUTHORIZATION="Token " + key)
    print(answer.status_code, answer.json().get("identity"))
"""


def test_a_device_gets_its_token_on_the_embedded_sqlite_default(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'voice.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
        "TWILIO_API_KEY_SID": TEST_API_KEY_SID,
        "TWILIO_API_KEY_SECRET": TEST_API_KEY_SECRET,
    }

    migrated = run_manage("migrate", "-v0", **env)
    assert migrated.returncode == 0, migrated.stderr
    asked = run_manage("shell", "-c", DEVICE_ON_SQLITE, **env)

    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.split("\n")[-3:] == ["200 embedded_agent", "200 embedded_agent", ""]
