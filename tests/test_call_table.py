"""Twilio's traffic for the three kinds of call, replayed as Twilio may deliver it."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone

from calls.models import Call, CallEvent
from tests.conftest import SUPPORT_LINE, TEST_ACCOUNT_SID
from tests.twilio_requests import WEBHOOK_PATHS, deliver, twilio_signature
from twilio_fakes.scenarios import CallPlan, Delivery, agent_to_agent, agent_to_pstn, pstn_to_agents

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CUSTOMER = "+12125550123"
COLUMNS = [
    "parent",
    "direction",
    "from_number",
    "to_number",
    "status",
    "start_time",
    "answer_time",
    "end_time",
    "duration",
    "agent",
]


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def three_scenarios(started_at: datetime = T0):
    """The overview's three calls, each answered after 5 s of ringing, 60 s of talk."""
    rng = random.Random(2026)
    plan = CallPlan(
        account_sid=TEST_ACCOUNT_SID, application_sid="AP" + "d" * 32, started_at=started_at
    )
    return {
        "pstn_to_agent": pstn_to_agents(
            plan, rng, caller=CUSTOMER, number=SUPPORT_LINE, identities=["alice", "bob"]
        ),
        "agent_to_pstn": agent_to_pstn(
            plan, rng, identity="alice", caller_id=SUPPORT_LINE, destination=CUSTOMER
        ),
        "agent_to_agent": agent_to_agent(plan, rng, identity="bob", callee_identity="alice"),
    }


def sids(deliveries, direction):
    found = []
    for delivery in deliveries:
        sid = delivery.parameters["CallSid"]
        if delivery.parameters["Direction"] == direction and sid not in found:
            found.append(sid)
    return found


def expected_table(scenarios, started_at: datetime = T0):
    """Every leg of the three calls, as the call table must hold it in the end, for calls
    that Twilio's clock says started at `started_at`."""

    def at(seconds: int) -> datetime:
        return started_at + timedelta(seconds=seconds)

    pstn_parent, agent_parent, internal_parent = (
        sids(scenarios[name], "inbound")[0] for name in scenarios
    )
    alice_leg, bob_leg = sids(scenarios["pstn_to_agent"], "outbound-dial")
    (pstn_leg,) = sids(scenarios["agent_to_pstn"], "outbound-dial")
    (internal_leg,) = sids(scenarios["agent_to_agent"], "outbound-dial")
    # A parent is answered when its child is: Twilio sends it no answered callback.
    parent_times = (at(0), at(7), at(67), 67)
    answered_child_times = (at(1), at(7), at(67), 60)
    return {
        pstn_parent: (None, "inbound", CUSTOMER, SUPPORT_LINE, "completed", *parent_times, None),
        alice_leg: (
            pstn_parent,
            "outbound-dial",
            CUSTOMER,
            "client:alice",
            "completed",
            *answered_child_times,
            "alice",
        ),
        bob_leg: (
            pstn_parent,
            "outbound-dial",
            CUSTOMER,
            "client:bob",
            "canceled",
            *(at(1), None, at(7), 0),
            "bob",
        ),
        agent_parent: (
            None,
            "inbound",
            "client:alice",
            CUSTOMER,
            "completed",
            *parent_times,
            "alice",
        ),
        pstn_leg: (
            agent_parent,
            "outbound-dial",
            SUPPORT_LINE,
            CUSTOMER,
            "completed",
            *answered_child_times,
            None,
        ),
        internal_parent: (
            None,
            "inbound",
            "client:bob",
            "alice",
            "completed",
            *parent_times,
            "bob",
        ),
        internal_leg: (
            internal_parent,
            "outbound-dial",
            "client:bob",
            "client:alice",
            "completed",
            *answered_child_times,
            "alice",
        ),
    }


def call_table():
    rows = Call.objects.values_list("sid", "parent__sid", *COLUMNS[1:-1], "agent__identity")
    return {sid: tuple(values) for sid, *values in rows}


def all_deliveries(scenarios):
    return [delivery for deliveries in scenarios.values() for delivery in deliveries]


def assert_table_is_exact(scenarios, started_at: datetime = T0):
    assert call_table() == expected_table(scenarios, started_at)
    distinct = {tuple(sorted(d.parameters.items())) for d in all_deliveries(scenarios)}
    assert CallEvent.objects.count() == len(distinct)


@pytest.mark.usefixtures("agents")
def test_three_calls_in_order_give_one_row_per_leg(client):
    scenarios = three_scenarios()
    for delivery in all_deliveries(scenarios):
        assert deliver(client, delivery).status_code in (200, 204)
    assert_table_is_exact(scenarios)


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_three_calls_shuffled_and_duplicated_give_the_same_table(client, seed):
    scenarios = three_scenarios()
    deliveries = all_deliveries(scenarios)
    rng = random.Random(seed)
    deliveries += rng.sample(deliveries, len(deliveries) // 2)
    rng.shuffle(deliveries)
    for delivery in deliveries:
        assert deliver(client, delivery).status_code in (200, 204)
    assert_table_is_exact(scenarios)


def dial_action(deliveries):
    """Our <Dial> action request for the call's parent, as Twilio makes it when the answered
    child hangs up: the parent's fields, CallStatus in-progress, and no Timestamp."""
    voice_request = next(d for d in deliveries if d.webhook == "voice")
    answered = next(d for d in deliveries if d.parameters["CallStatus"] == "in-progress")
    parameters = {
        **voice_request.parameters,
        "CallStatus": "in-progress",
        "DialCallStatus": "completed",
        "DialCallSid": answered.parameters["CallSid"],
        "DialCallDuration": "60",
        "DialBridged": "true",
    }
    return Delivery("dial", parameters, answered.sent_at)


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_parent_is_answered_when_its_child_is_whenever_the_dial_action_comes(client, seed):
    scenarios = three_scenarios()
    for deliveries in scenarios.values():
        deliveries.append(dial_action(deliveries))
    deliveries = all_deliveries(scenarios)
    rng = random.Random(seed)
    deliveries += rng.sample(deliveries, len(deliveries) // 2)
    rng.shuffle(deliveries)

    for delivery in deliveries:
        assert deliver(client, delivery).status_code in (200, 204)

    assert_table_is_exact(scenarios)
    for start, answer, end in Call.objects.values_list("start_time", "answer_time", "end_time"):
        assert start <= (answer or start) <= end


# How far Twilio's clock is from ours, as the Voice URL's request (which carries no
# Timestamp, so it is timed by our clock) shows it.
TWILIO_CLOCK_OFFSET = {"ours_ahead": timedelta(seconds=-30), "ours_behind": timedelta(seconds=30)}
ARRIVES = {"first": 0.0, "between": 0.5, "last": 1.0}


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("voice_request_arrives", ARRIVES)
@pytest.mark.parametrize("clock", TWILIO_CLOCK_OFFSET)
def test_a_parent_starts_when_twilio_says_whenever_its_untimed_requests_come(
    client, clock, voice_request_arrives, seed
):
    started_at = timezone.now().replace(microsecond=0) + TWILIO_CLOCK_OFFSET[clock]
    scenarios = three_scenarios(started_at)
    for deliveries in scenarios.values():
        deliveries.append(dial_action(deliveries))
    voice_requests = [d for d in all_deliveries(scenarios) if d.webhook == "voice"]
    others = [d for d in all_deliveries(scenarios) if d.webhook != "voice"]
    rng = random.Random(seed)
    others += rng.sample(others, len(others) // 2)
    rng.shuffle(others)
    position = round(len(others) * ARRIVES[voice_request_arrives])
    deliveries = others[:position] + voice_requests + others[position:]

    for delivery in deliveries:
        assert deliver(client, delivery).status_code in (200, 204)

    assert_table_is_exact(scenarios, started_at)
    assert not Call.objects.filter(start_time_from_twilio=False).exists()
    for start, answer, end in Call.objects.values_list("start_time", "answer_time", "end_time"):
        assert start <= (answer or start) <= end


@pytest.mark.usefixtures("agents")
def test_a_final_callback_without_a_duration_leaves_a_missed_calls_start_to_our_clock(client):
    started_at = timezone.now()
    plan = CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "d" * 32,
        started_at=started_at.replace(microsecond=0),
        outcome="no-answer",
    )
    voice_request, parent_end = agent_to_agent(
        plan, random.Random(7), identity="bob", callee_identity="alice"
    )[:2]
    assert parent_end.parameters["CallDuration"] == "0"

    for delivery in (parent_end, voice_request):
        assert deliver(client, delivery).status_code in (200, 204)

    parent = Call.objects.get(sid=voice_request.parameters["CallSid"])
    # The final callback says when the ringing ended (7 s in), not when it began.
    assert started_at <= parent.start_time < parent.end_time
    assert not parent.start_time_from_twilio


@pytest.mark.usefixtures("agents")
def test_child_callback_before_its_parent_creates_a_placeholder_parent(client):
    scenarios = three_scenarios()
    first_child_event = scenarios["agent_to_pstn"][2]
    deliver(client, first_child_event)
    parent = Call.objects.get(sid=first_child_event.parameters["ParentCallSid"])
    assert (parent.status, parent.direction, parent.children.count()) == ("", "", 1)


@pytest.mark.usefixtures("agents")
def test_late_ringing_never_overwrites_completed(client):
    deliveries = three_scenarios()["agent_to_pstn"]
    ringing, completed = deliveries[3], deliveries[-1]
    assert (ringing.parameters["CallStatus"], completed.parameters["CallStatus"]) == (
        "ringing",
        "completed",
    )
    deliver(client, completed)
    deliver(client, ringing)
    call = Call.objects.get(sid=completed.parameters["CallSid"])
    assert (call.status, call.duration, call.end_time) == ("completed", 60, at(67))


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize(
    ("outcome", "child_end", "child_events"),
    [("busy", 5, 3), ("no-answer", 7, 3), ("failed", 2, 2), ("canceled", 7, 3)],
)
def test_unanswered_call_records_its_outcome_on_both_legs(client, outcome, child_end, child_events):
    plan = CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "d" * 32,
        started_at=T0,
        outcome=outcome,
    )
    deliveries = agent_to_agent(plan, random.Random(7), identity="alice", callee_identity="bob")
    for delivery in reversed(deliveries):
        deliver(client, delivery)
    child = Call.objects.get(parent__isnull=False)
    assert (child.status, child.end_time, child.duration, child.answer_time) == (
        outcome,
        at(child_end),
        0,
        None,
    )
    assert child.events.count() == child_events
    assert (child.parent.status, child.parent.end_time, child.parent.duration) == (
        outcome,
        at(child_end),
        0,
    )


@pytest.mark.usefixtures("agents")
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicated_deliveries_give_one_row_per_leg(live_server):
    scenarios = three_scenarios()
    deliveries = all_deliveries(scenarios) * 3
    random.Random(99).shuffle(deliveries)

    def send(delivery):
        url = live_server.url + WEBHOOK_PATHS[delivery.webhook]
        signature = twilio_signature(url, delivery.parameters)
        return requests.post(
            url, data=delivery.parameters, headers={"X-Twilio-Signature": signature}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, deliveries))
    assert set(statuses) <= {200, 204}
    assert_table_is_exact(scenarios)


def prepared_callback_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH%'")
        (count,) = cursor.fetchone()
    return count


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares statements")
def test_a_callbacks_statement_is_parsed_and_planned_once_per_connection(client):
    """Parsing and planning the upsert cost as much as running it: the first calls prepare
    it, and calls like them later send only their parameters."""
    for delivery in three_scenarios()["pstn_to_agent"]:
        assert deliver(client, delivery).status_code in (200, 204)
    prepared = prepared_callback_statements()

    rng = random.Random(7)
    plan = CallPlan(account_sid=TEST_ACCOUNT_SID, application_sid="AP" + "d" * 32, started_at=T0)
    another = pstn_to_agents(
        plan, rng, caller=CUSTOMER, number=SUPPORT_LINE, identities=["alice", "bob"]
    )
    for delivery in another:
        assert deliver(client, delivery).status_code in (200, 204)

    assert prepared >= 1
    assert prepared_callback_statements() == prepared


def test_a_callback_costs_one_statement_on_postgresql(client, django_assert_num_queries):
    """Round trips bound the callback rate: one statement, or three in a transaction on SQLite."""
    child_event = three_scenarios()["agent_to_pstn"][2]
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
        assert deliver(client, child_event).status_code == 204
