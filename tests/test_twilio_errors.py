"""Twilio's error reports (its Debugger webhook and Event Streams' error-logs events): signed,
stored once, linked to their leg, shown on the family page, counted in the admin and summarised
by the setup doctor."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from agents.doctor import Level, twilio_doctor, twilio_error_findings
from calls.models import TwilioError
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.factories import CallFactory, UserFactory, random_sid
from tests.twilio_account import configured_account
from tests.twilio_requests import post_signed, twilio_signature
from twilio_fakes.signing import twilio_json_signature
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db

DEBUGGER_PATH = "/twilio/debugger/"
EVENTS_PATH = "/twilio/events/errors/"
WEBHOOK_URL = "https://voice.example.com/twilio/voice/"


def debugger_form(*, code="11200", resource_sid=None, sid=None, **changes) -> dict[str, str]:
    """The form the Console's Debugger webhook posts, as Twilio documents it."""
    payload = {
        "resource_sid": resource_sid or random_sid("CA"),
        "service_sid": None,
        "error_code": code,
        "more_info": {
            "Msg": "An attempt to retrieve content from the URL returned an HTTP 502 response",
            "sourceComponent": "12000",
            "ErrorCode": code,
            "LogLevel": "ERROR",
            "url": WEBHOOK_URL,
        },
        "webhook": {
            "request": {"url": WEBHOOK_URL, "method": "POST", "headers": {}, "parameters": {}},
            "response": {"status_code": 502, "headers": {}, "body": "<html>Bad gateway</html>"},
        },
    }
    return {
        "AccountSid": TEST_ACCOUNT_SID,
        "Sid": sid or random_sid("NO"),
        "ParentAccountSid": "",
        "Timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Level": "Error",
        "PayloadType": "application/json",
        "Payload": json.dumps(payload),
        **changes,
    }


def error_event(*, code="31005", resource_sid=None, event_id=None, **data) -> dict:
    """One com.twilio.error-logs.error.logged CloudEvent, as an Event Streams sink receives it."""
    sid = event_id or random_sid("NO")
    return {
        "specversion": "1.0",
        "type": "com.twilio.error-logs.error.logged",
        "source": "/v1/Accounts/" + TEST_ACCOUNT_SID,
        "id": sid,
        "dataschema": "https://events-schemas.twilio.com/ErrorLogs.Error/2",
        "datacontenttype": "application/json",
        "time": timezone.now().isoformat(),
        "data": {
            "sid": sid,
            "account_sid": TEST_ACCOUNT_SID,
            "date_created": timezone.now().isoformat(),
            "level": "ERROR",
            "product_name": "Programmable Voice",
            "error_code": code,
            "resource_sid": resource_sid or random_sid("CA"),
            "payload": json.dumps({"more_info": {"Msg": "WebSocket closed"}}),
            **data,
        },
    }


def post_events(client, events: list, auth_token: str = TEST_AUTH_TOKEN):
    body = json.dumps(events)
    url, signature = twilio_json_signature(f"http://testserver{EVENTS_PATH}", body, auth_token)
    return client.post(
        url.removeprefix("http://testserver"),
        body,
        content_type="application/json",
        headers={"X-Twilio-Signature": signature},
    )


def test_a_signed_debugger_event_is_stored_with_code_message_resource_and_url(client):
    form = debugger_form(code="11200")

    response = post_signed(client, DEBUGGER_PATH, form)

    assert response.status_code == 204
    error = TwilioError.objects.get()
    payload = json.loads(form["Payload"])
    assert (error.event_id, error.code, error.level) == (form["Sid"], 11200, "Error")
    assert error.message.startswith("An attempt to retrieve content")
    assert (error.resource_sid, error.request_url) == (payload["resource_sid"], WEBHOOK_URL)


def test_a_forged_debugger_event_is_refused_and_nothing_stored(client):
    form = debugger_form()

    response = post_signed(client, DEBUGGER_PATH, form, auth_token="not the auth token")

    assert response.status_code == 403
    assert not TwilioError.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"Sid": "NO123"},
        {"Payload": "not json"},
        {"Payload": "[1, 2]"},
        {"Payload": json.dumps({"error_code": "eleven"})},
        {"Payload": json.dumps({"error_code": "11200", "resource_sid": "<script>"})},
        {"Payload": json.dumps({"error_code": "11200", "more_info": {"Msg": 7}})},
        {"Timestamp": "yesterday"},
    ],
)
def test_a_malformed_debugger_event_is_refused_with_400_and_nothing_stored(client, changes):
    response = post_signed(client, DEBUGGER_PATH, debugger_form(**changes))

    assert response.status_code == 400
    assert not TwilioError.objects.exists()


def test_a_debugger_event_for_another_account_is_refused(client):
    response = post_signed(client, DEBUGGER_PATH, debugger_form(AccountSid=random_sid("AC")))

    assert response.status_code == 403
    assert not TwilioError.objects.exists()


def test_a_repeated_debugger_event_is_stored_once(client):
    form = debugger_form()

    responses = [post_signed(client, DEBUGGER_PATH, form) for _ in range(3)]

    assert [response.status_code for response in responses] == [204, 204, 204]
    assert TwilioError.objects.count() == 1


def test_an_error_about_one_of_our_legs_is_linked_to_it(client):
    leg = CallFactory()

    post_signed(client, DEBUGGER_PATH, debugger_form(resource_sid=leg.sid))

    assert TwilioError.objects.get().call == leg


def test_an_error_about_another_resource_is_stored_without_a_leg(client):
    post_signed(client, DEBUGGER_PATH, debugger_form(resource_sid=random_sid("PN")))

    assert TwilioError.objects.get().call is None


def test_a_signed_batch_of_error_events_is_stored_and_other_event_types_skipped(client):
    leg = CallFactory()
    other = {**error_event(), "type": "com.twilio.voice.insights.call-summary.complete"}
    events = [error_event(code="31005", resource_sid=leg.sid), other, error_event(code="53000")]

    response = post_events(client, events)

    assert response.status_code == 204
    stored = TwilioError.objects.order_by("code")
    assert [(error.code, error.call_id) for error in stored] == [(31005, leg.id), (53000, None)]
    assert stored[0].message == "WebSocket closed"


def test_a_forged_batch_of_error_events_is_refused_and_nothing_stored(client):
    response = post_events(client, [error_event()], auth_token="not the auth token")

    assert response.status_code == 403
    assert not TwilioError.objects.exists()


def test_a_repeated_error_event_is_stored_once(client):
    event = error_event()

    post_events(client, [event, event])
    post_events(client, [event])

    assert TwilioError.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"not": "an array"}),
        json.dumps(["not an event"]),
        json.dumps([{**error_event(), "data": "no object"}]),
        json.dumps([{**error_event(), "id": ""}]),
        json.dumps([{**error_event(), "id": "NO\u0000"}]),
        "[not json",
    ],
)
def test_a_malformed_batch_of_error_events_is_refused_with_400(client, body):
    url, signature = twilio_json_signature(f"http://testserver{EVENTS_PATH}", body, TEST_AUTH_TOKEN)

    response = client.post(
        url.removeprefix("http://testserver"),
        body,
        content_type="application/json",
        headers={"X-Twilio-Signature": signature},
    )

    assert response.status_code == 400
    assert not TwilioError.objects.exists()


def test_a_malformed_event_is_refused_and_the_others_in_its_batch_kept(client):
    good = error_event(code="31009")

    response = post_events(client, [good, error_event(code="not a code")])

    assert response.status_code == 400
    assert "error_code" in response.content.decode()
    assert list(TwilioError.objects.values_list("event_id", flat=True)) == [good["id"]]


def test_an_error_event_for_another_account_refuses_the_batch(client):
    stranger = error_event(account_sid=random_sid("AC"))

    response = post_events(client, [error_event(), stranger])

    assert response.status_code == 403
    assert not TwilioError.objects.exists()


def test_a_form_posted_to_the_event_streams_url_is_refused(client):
    form = {"AccountSid": TEST_ACCOUNT_SID}
    signature = twilio_signature(f"http://testserver{EVENTS_PATH}", form)

    response = client.post(
        EVENTS_PATH,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )

    assert response.status_code == 400


def test_the_family_page_shows_the_errors_of_its_legs_harmlessly(client):
    parent = CallFactory()
    child = CallFactory(parent=parent)
    form = debugger_form(code="12100", resource_sid=child.sid)
    payload = json.loads(form["Payload"])
    payload["more_info"]["Msg"] = "<script>alert(1)</script>"
    post_signed(client, DEBUGGER_PATH, {**form, "Payload": json.dumps(payload)})
    client.force_login(UserFactory(is_superuser=True))

    page = client.get(f"/calls/{parent.sid}/").content.decode()

    assert "Error 12100" in page
    assert "Document parse failure" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_an_error_that_arrived_before_its_leg_is_shown_on_the_family_page(client):
    sid = random_sid("CA")
    post_signed(client, DEBUGGER_PATH, debugger_form(code="31009", resource_sid=sid))
    leg = CallFactory(sid=sid)
    client.force_login(UserFactory(is_superuser=True))

    page = client.get(f"/calls/{leg.sid}/").content.decode()

    assert "Error 31009" in page


def test_the_admin_list_counts_errors_per_code_per_day(client):
    today = timezone.now()
    for code, when in [
        (11200, today),
        (11200, today),
        (20101, today),
        (11200, today - timedelta(days=1)),
    ]:
        TwilioError.objects.create(
            event_id=random_sid("NO"), code=code, occurred_at=when, received_at=when
        )
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))

    page = client.get("/admin/calls/twilioerror/")

    assert page.status_code == 200
    assert page.context["counts"] == [
        (today.date(), 11200, 2),
        (today.date(), 20101, 1),
        ((today - timedelta(days=1)).date(), 11200, 1),
    ]
    assert 'id="twilio-error-counts"' in page.content.decode()


def test_the_doctor_summarises_the_last_days_errors_with_what_to_do():
    now = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    for code, hours_ago in [(20101, 1), (20101, 2), (99999, 3), (11200, 30)]:
        when = now - timedelta(hours=hours_ago)
        TwilioError.objects.create(
            event_id=random_sid("NO"), code=code, occurred_at=when, received_at=when
        )

    findings = twilio_error_findings(now=now)

    assert [finding.level for finding in findings] == [Level.WARN, Level.WARN]
    assert findings[0].message.startswith("20101 2 time(s) in the last day")
    assert "Invalid access token" in findings[0].message
    assert "TWILIO_REGION" in findings[0].message
    assert findings[1].message.startswith("99999 1 time(s)")


def test_the_doctor_says_so_when_twilio_reported_no_errors(fake_twilio, settings):
    configured_account(fake_twilio, settings)

    findings = [found for found in twilio_doctor() if found.check == "Twilio errors"]

    assert [(found.level, found.message) for found in findings] == [
        (Level.OK, "Twilio reported no errors in the last day.")
    ]


def test_a_database_outage_answers_503_and_stores_nothing(client, database_down):
    event = error_event()
    form = debugger_form()

    responses = [post_events(client, [event]), post_signed(client, DEBUGGER_PATH, form)]

    assert [response.status_code for response in responses] == [503, 503]
    database_down()
    assert not TwilioError.objects.exists()
