"""Hostile input over real HTTP: webhook values out of bounds, NUL bytes, repeated keys,
crafted cursors, joined or broken families, and REST legs that would poison the call log."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.conf import settings
from django.db import IntegrityError, transaction

from calls.models import Call, CallEvent, ReconcileRun
from calls.reconcile.runs import reconcile_recent_calls
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import AgentFactory, CallFactory, UserFactory, random_sid
from tests.twilio_requests import child_callback, post_signed_over_http
from voiceproject.roles import ANALYSTS

pytestmark = pytest.mark.django_db(transaction=True)

STATUS_PATH = "/twilio/status/"
VOICE_PATH = "/twilio/voice/"


def leg_callback(sid: str, *, parent: str | None = None) -> dict[str, str]:
    """A 'ringing' status callback about leg `sid`, a child of `parent` when given."""
    return child_callback(
        CallSid=sid, CallStatus="ringing", SequenceNumber="1", ParentCallSid=parent
    )


def post_signed(live_server, path: str, parameters: dict[str, str] | list[tuple[str, str]]):
    return post_signed_over_http(live_server.url + path, parameters)


def rfc2822(moment: datetime, *, offset_hours: int = 0) -> str:
    """The moment written with a zone offset of whole hours, as RFC 2822 allows any."""
    local = moment.astimezone(UTC) + timedelta(hours=offset_hours)
    sign = "-" if offset_hours < 0 else "+"
    return local.strftime("%a, %d %b %Y %H:%M:%S ") + f"{sign}{abs(offset_hours):02d}00"


def assert_nothing_stored():
    assert (Call.objects.count(), CallEvent.objects.count()) == (0, 0)


def logged_in(client, live_server, user) -> requests.Session:
    """A requests session of the live server, logged in as `user`."""
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


@pytest.fixture
def analyst(client, live_server) -> requests.Session:
    return logged_in(client, live_server, UserFactory(groups=[ANALYSTS]))


# Attack 4: one callback takes the call log down


@pytest.mark.parametrize(
    "timestamp",
    ["Fri, 31 Dec 9999 23:59:59 -1500", "Fri, 01 Jan 0100 00:00:00 +0000"],
    ids=["year 9999", "year 0100"],
)
def test_callback_dated_far_from_now_is_refused_and_stores_nothing(live_server, timestamp):
    response = post_signed(live_server, STATUS_PATH, child_callback(Timestamp=timestamp))

    assert response.status_code == 400
    assert response.text.startswith("Timestamp is ")
    assert_nothing_stored()


def test_callback_older_than_the_window_is_refused(live_server, settings):
    settings.WEBHOOK_TIMESTAMP_MAX_AGE = 24 * 60 * 60
    two_days_ago = rfc2822(datetime.now(UTC) - timedelta(days=2))

    response = post_signed(live_server, STATUS_PATH, child_callback(Timestamp=two_days_ago))

    assert response.status_code == 400
    assert "WEBHOOK_TIMESTAMP_MAX_AGE=86400" in response.text
    assert_nothing_stored()


def test_call_duration_longer_than_twilio_allows_is_refused(live_server):
    response = post_signed(live_server, STATUS_PATH, child_callback(CallDuration="2147483647"))

    assert response.status_code == 400
    assert "CallDuration is longer than a call can last (86400 s)" in response.text
    assert_nothing_stored()


def test_chart_days_are_the_days_asked_for_never_the_span_of_the_data(analyst, live_server):
    """A leg started in year 100 (as a duration of 68 years once implied) charts no century."""
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    parent = CallFactory(start_time=today)
    CallFactory(parent=parent, start_time=datetime(100, 1, 1, tzinfo=UTC), duration=2**31 - 1)

    response = analyst.get(
        live_server.url + "/calls/stats/", params={"started_after": "0100-01-01"}, timeout=10
    )

    assert response.status_code == 200
    # A row per day for the 30 days by default, not one for each of 700,000 days.
    assert len(response.content) < 100_000


def test_chart_range_longer_than_a_year_keeps_its_last_366_days(analyst, live_server):
    response = analyst.get(
        live_server.url + "/calls/stats/",
        params={"started_after": "2008-01-01", "started_before": "2026-12-01"},
        timeout=10,
    )

    assert response.status_code == 200
    assert 'value="2025-12-01"' in response.text


# Attack 5: 500s on malformed input


def test_offset_of_sixteen_hours_is_stored_in_utc(live_server):
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    fields = child_callback(Timestamp=rfc2822(sent, offset_hours=16))

    response = post_signed(live_server, STATUS_PATH, fields)

    assert response.status_code == 204
    assert Call.objects.get(sid=fields["CallSid"]).answer_time == sent


@pytest.mark.parametrize(
    "changes",
    [{"From": "+1415555\x000100"}, {"Custom\x00Name": "x"}],
    ids=["in a value", "in a name"],
)
def test_nul_byte_in_a_webhook_field_is_refused(live_server, changes):
    response = post_signed(live_server, STATUS_PATH, child_callback(**changes))

    assert response.status_code == 400
    assert "NUL byte" in response.text
    assert_nothing_stored()


@pytest.mark.parametrize(
    "path",
    [
        "/calls/%00/",
        "/calls/?number=%00",
        "/calls/?sid=CA%00",
        "/calls/export.csv?number=%2B1%00",
        "/calls/stats/?direction=%00",
        "/api/calls/?number=%00",
        "/api/calls/%00/",
        "/api/calls/?x%00=1",
    ],
)
def test_nul_byte_in_an_address_is_refused(analyst, live_server, path):
    response = analyst.get(live_server.url + path, timeout=10)

    assert response.status_code == 400
    assert response.text == "The address contains a NUL byte."


def cursor(*position) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


@pytest.mark.parametrize(
    ("sort", "crafted"),
    [
        ("-duration", base64.urlsafe_b64encode(b"[Infinity, 1, false]").decode()),
        ("-duration", cursor(2**40, 1, False)),
        ("-start_time", base64.urlsafe_b64encode(b"[" * 1500 + b"]" * 1500).decode()),
        ("-start_time", cursor("9999-12-31T23:59:59-15:00", 1, False)),
        ("-start_time", cursor("2026-11-02T09:00:00", 1, False)),
        ("-start_time", cursor("2026-11-02T09:00:00+00:00", 2**70, False)),
    ],
    ids=["infinity", "huge duration", "nested brackets", "past year 9999", "no zone", "huge id"],
)
@pytest.mark.parametrize("page", ["/calls/", "/api/calls/"])
def test_crafted_cursor_is_not_found_never_a_server_error(
    analyst, live_server, page, sort, crafted
):
    CallFactory(start_time=datetime(2026, 11, 2, 9, tzinfo=UTC), duration=60)

    response = analyst.get(
        live_server.url + page, params={"sort": sort, "cursor": crafted}, timeout=10
    )

    assert response.status_code == 404


# Attack 11 (part): repeated form keys


def test_repeated_parameter_is_refused_even_when_signed(live_server):
    fields = child_callback()
    pairs = [*fields.items(), ("CallStatus", "busy")]

    response = post_signed(live_server, STATUS_PATH, pairs)

    assert response.status_code == 400
    assert "Parameter 'CallStatus' is repeated." in response.text
    assert_nothing_stored()


# Attack 7: families joined or broken


def test_voice_url_request_naming_a_parent_never_joins_that_family(client, live_server):
    bob = AgentFactory(identity="bob")
    bobs_call = CallFactory(from_number="client:bob", agent=bob, start_time=datetime.now(UTC))
    alice = AgentFactory(identity="alice")
    alices_sid = random_sid("CA")
    request = {
        "AccountSid": TEST_ACCOUNT_SID,
        "ApplicationSid": alice.twiml_app.sid,
        "CallSid": alices_sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "client:alice",
        "Caller": "client:alice",
        "To": "+12125550123",
        "ParentCallSid": bobs_call.sid,
    }

    response = post_signed(live_server, VOICE_PATH, request)

    assert response.status_code == 200
    assert Call.objects.get(sid=alices_sid).parent is None
    as_alice = logged_in(client, live_server, alice.user)
    for path in (f"/calls/{bobs_call.sid}/", f"/api/calls/{bobs_call.sid}/"):
        assert as_alice.get(live_server.url + path, timeout=10).status_code == 404


def test_parent_cycle_leaves_both_legs_in_one_listed_family(analyst, live_server):
    first, second = random_sid("CA"), random_sid("CA")

    assert post_signed(live_server, STATUS_PATH, leg_callback(first, parent=second)).ok
    assert post_signed(live_server, STATUS_PATH, leg_callback(second, parent=first)).ok

    assert Call.objects.get(sid=second).parent is None
    assert Call.objects.get(sid=first).parent.sid == second
    [family] = analyst.get(live_server.url + "/api/calls/", timeout=10).json()["results"]
    assert family["sid"] == second
    assert [child["sid"] for child in family["children"]] == [first]


def test_grandchild_is_shown_in_its_root_family(analyst, live_server):
    root, child, grandchild = random_sid("CA"), random_sid("CA"), random_sid("CA")
    for sid, parent in [(root, None), (child, root), (grandchild, child)]:
        assert post_signed(live_server, STATUS_PATH, leg_callback(sid, parent=parent)).ok

    assert Call.objects.get(sid=grandchild).parent.sid == root
    response = analyst.get(live_server.url + f"/api/calls/{grandchild}/", timeout=10)
    assert response.status_code == 200
    assert response.json()["parent"]["sid"] == root


def test_placeholder_parent_that_turns_out_to_be_a_child_keeps_its_own_family(live_server):
    root, middle, leaf = random_sid("CA"), random_sid("CA"), random_sid("CA")
    assert post_signed(live_server, STATUS_PATH, leg_callback(leaf, parent=middle)).ok

    response = post_signed(live_server, STATUS_PATH, leg_callback(middle, parent=root))

    assert response.status_code == 204
    assert Call.objects.get(sid=middle).parent is None
    assert Call.objects.get(sid=leaf).parent.sid == middle


def test_database_refuses_a_chain_of_three():
    child = CallFactory(parent=CallFactory())

    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(parent=child)


def test_database_refuses_a_parent_cycle():
    root = CallFactory()
    child = CallFactory(parent=root)

    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.filter(id=root.id).update(parent=child)


# REST legs bounded as webhooks are


def test_rest_leg_with_an_absurd_value_is_skipped_and_counted(fake_twilio):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    good, far_future, endless = random_sid("CA"), random_sid("CA"), random_sid("CA")
    fake_twilio.add_call(
        good, start_time=started, end_time=started + timedelta(seconds=42), duration=42
    )
    fake_twilio.add_call(far_future, start_time=datetime(9999, 12, 31, tzinfo=UTC))
    fake_twilio.add_call(endless, start_time=started, duration=2**31 - 1)

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert run.errors == 2
    assert "Skipped call" in run.error_message
    assert list(Call.objects.values_list("sid", flat=True)) == [good]


def test_rest_grandchild_listed_with_its_family_joins_the_root_family(fake_twilio):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    root, child, grandchild = random_sid("CA"), random_sid("CA"), random_sid("CA")
    for offset, (sid, parent) in enumerate([(root, None), (child, root), (grandchild, child)]):
        fake_twilio.add_call(
            sid, parent_call_sid=parent, start_time=started + timedelta(seconds=offset)
        )

    run = reconcile_recent_calls()

    assert run.outcome == ReconcileRun.Outcome.SUCCEEDED
    assert Call.objects.get(sid=grandchild).parent.sid == root


def test_rest_parent_cycle_never_stores_one(fake_twilio):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    first, second = random_sid("CA"), random_sid("CA")
    fake_twilio.add_call(first, parent_call_sid=second, start_time=started)
    fake_twilio.add_call(second, parent_call_sid=first, start_time=started)

    reconcile_recent_calls()

    parents = dict(Call.objects.values_list("sid", "parent__sid"))
    assert None in parents.values()
