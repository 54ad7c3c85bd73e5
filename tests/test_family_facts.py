"""Each family's kind, outcome and who answered, as webhooks and reconciliation leave them."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from calls.constants import STATUS_RANK, TERMINAL_STATUSES
from calls.family_facts import family_outcome, kind_seen_from_child, parent_kind
from calls.models import Call
from calls.reconcile.runs import reconcile_recent_calls
from tests.conftest import SUPPORT_LINE, TEST_ACCOUNT_SID
from tests.twilio_requests import deliver
from twilio_fakes.scenarios import (
    CallPlan,
    Delivery,
    agent_to_agent,
    agent_to_pstn,
    pstn_to_agents,
)

pytestmark = pytest.mark.django_db

CUSTOMER = "+12125550123"
APPLICATION_SID = "AP" + "d" * 32


def plan(outcome: str = "completed", started_at: datetime | None = None) -> CallPlan:
    return CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid=APPLICATION_SID,
        # Recent, so that reconciliation's first run lists it.
        started_at=started_at or timezone.now().replace(microsecond=0) - timedelta(minutes=30),
        outcome=outcome,
    )


def until_answered(deliveries: list[Delivery]) -> list[Delivery]:
    """The deliveries of a call still going on: everything up to the first answer."""
    answer = next(d for d in deliveries if d.parameters["CallStatus"] == "in-progress")
    return deliveries[: deliveries.index(answer) + 1]


def rest_created(outcome: str) -> list[Delivery]:
    """A call made with the REST API (outbound-api) and its TwiML: no child leg."""
    started = plan().started_at
    leg = {
        "AccountSid": TEST_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + random.Random(outcome).getrandbits(128).to_bytes(16).hex(),
        "Direction": "outbound-api",
        "From": SUPPORT_LINE,
        "To": CUSTOMER,
        "CallbackSource": "call-progress-events",
    }
    ended = started + timedelta(seconds=30)
    return [
        Delivery("voice", {**leg, "CallStatus": "in-progress"}, started),
        Delivery(
            "status",
            {
                **leg,
                "CallStatus": outcome,
                "Timestamp": ended.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                "SequenceNumber": "0",
                "CallDuration": "25" if outcome == "completed" else "0",
            },
            ended,
        ),
    ]


def scenario(name: str) -> list[Delivery]:
    rng = random.Random(name)
    ring_all = {"caller": CUSTOMER, "number": SUPPORT_LINE, "identities": ["alice", "bob"]}
    to_customer = {"identity": "alice", "caller_id": SUPPORT_LINE, "destination": CUSTOMER}
    to_alice = {"identity": "bob", "callee_identity": "alice"}
    scenarios = {
        "inbound answered": lambda: pstn_to_agents(plan(), rng, **ring_all),
        "inbound unanswered": lambda: pstn_to_agents(plan("no-answer"), rng, **ring_all),
        "inbound failed": lambda: pstn_to_agents(plan("failed"), rng, **ring_all),
        "inbound in progress": lambda: until_answered(pstn_to_agents(plan(), rng, **ring_all)),
        "outbound answered": lambda: agent_to_pstn(plan(), rng, **to_customer),
        "outbound busy": lambda: agent_to_pstn(plan("busy"), rng, **to_customer),
        "outbound failed": lambda: agent_to_pstn(plan("failed"), rng, **to_customer),
        "internal answered": lambda: agent_to_agent(plan(), rng, **to_alice),
        "internal unanswered": lambda: agent_to_agent(plan("no-answer"), rng, **to_alice),
        "other answered": lambda: rest_created("completed"),
        "other busy": lambda: rest_created("busy"),
    }
    return scenarios[name]()


# (kind, outcome, answered_by) each scenario must leave on its family.
EXPECTED = {
    "inbound answered": ("inbound", "answered", "alice"),
    "inbound unanswered": ("inbound", "unanswered", None),
    "inbound failed": ("inbound", "failed", None),
    "inbound in progress": ("inbound", "in-progress", "alice"),
    "outbound answered": ("outbound", "answered", None),
    "outbound busy": ("outbound", "unanswered", None),
    "outbound failed": ("outbound", "failed", None),
    "internal answered": ("internal", "answered", "alice"),
    "internal unanswered": ("internal", "unanswered", None),
    "other answered": ("other", "answered", None),
    "other busy": ("other", "unanswered", None),
}


def family_facts() -> tuple[str, str, str | None]:
    [parent] = (
        Call.objects.filter(parent__isnull=True)
        .annotate(outcome=family_outcome())
        .values_list("kind", "outcome", "answered_by__identity")
    )
    return parent


def shuffled_and_duplicated(deliveries: list[Delivery], seed: int) -> list[Delivery]:
    rng = random.Random(seed)
    replayed = deliveries + rng.sample(deliveries, len(deliveries) // 2 + 1)
    rng.shuffle(replayed)
    return replayed


def rest_legs(deliveries: list[Delivery]) -> list[dict]:
    """Each leg as Twilio's REST API lists it once the deliveries have happened: the last
    status, first and last times, and no To on a softphone's parent leg."""
    legs: dict[str, dict] = {}
    order: dict[str, tuple] = {}
    for delivery in sorted(deliveries, key=lambda d: d.sent_at):
        form = delivery.parameters
        softphone_parent = form["Direction"] == "inbound" and form["From"].startswith("client:")
        leg = legs.setdefault(
            form["CallSid"],
            {
                "parent_call_sid": form.get("ParentCallSid"),
                "direction": form["Direction"],
                "from_": form["From"],
                "to": "" if softphone_parent else form["To"],
                "start_time": delivery.sent_at,
            },
        )
        position = (STATUS_RANK[form["CallStatus"]], int(form.get("SequenceNumber", -1)))
        if position >= order.get(form["CallSid"], (-2, -2)):
            order[form["CallSid"]] = position
            leg["status"] = form["CallStatus"]
            if form["CallStatus"] in TERMINAL_STATUSES:
                leg["end_time"] = delivery.sent_at
                leg["duration"] = int(form["CallDuration"])
    return [{"sid": sid, **leg} for sid, leg in legs.items()]


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize("name", list(EXPECTED))
def test_webhooks_in_order_leave_the_family_kind_outcome_and_who_answered(client, name):
    for delivery in scenario(name):
        assert deliver(client, delivery).status_code in (200, 204)

    assert family_facts() == EXPECTED[name]


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("seed", [1, 2])
def test_webhooks_shuffled_and_duplicated_leave_the_same_family_facts(client, name, seed):
    for delivery in shuffled_and_duplicated(scenario(name), seed):
        assert deliver(client, delivery).status_code in (200, 204)

    assert family_facts() == EXPECTED[name]


@pytest.mark.usefixtures("agents")
@pytest.mark.parametrize("name", list(EXPECTED))
def test_reconciliation_alone_leaves_the_same_family_facts(fake_twilio, name):
    for leg in rest_legs(scenario(name)):
        fake_twilio.add_call(**leg)

    run = reconcile_recent_calls()

    assert run.errors == 0
    assert family_facts() == EXPECTED[name]


@pytest.mark.usefixtures("agents")
def test_reconciling_after_the_webhooks_keeps_the_family_facts(client, fake_twilio):
    deliveries = scenario("inbound answered")
    for delivery in deliveries:
        deliver(client, delivery)
    for leg in rest_legs(deliveries):
        fake_twilio.add_call(**leg)

    reconcile_recent_calls()
    reconcile_recent_calls()

    assert family_facts() == EXPECTED["inbound answered"]


@pytest.mark.usefixtures("agents")
def test_a_child_known_before_its_softphone_parent_tells_the_kind_until_the_parent_does(client):
    deliveries = scenario("internal answered")
    child_events = [d for d in deliveries if d.parameters.get("ParentCallSid")]
    deliver(client, child_events[0])
    assert family_facts()[0] == "internal"

    for delivery in deliveries:
        deliver(client, delivery)

    assert family_facts() == EXPECTED["internal answered"]


@pytest.mark.usefixtures("agents")
def test_first_answer_time_is_when_the_answering_child_was_answered(client):
    deliveries = scenario("inbound answered")
    for delivery in deliveries:
        deliver(client, delivery)

    parent = Call.objects.get(parent__isnull=True)
    answer = next(d for d in deliveries if d.parameters["CallStatus"] == "in-progress")
    assert parent.child_answer_time == answer.sent_at
    assert parent.dial_result == 3


def test_a_left_voicemail_makes_an_unanswered_call_a_voicemail(client, agents):
    for delivery in scenario("inbound unanswered"):
        deliver(client, delivery)
    Call.objects.filter(parent__isnull=True).update(voicemail_left=True)

    assert family_facts() == ("inbound", "voicemail", None)


def test_kind_rules_read_the_dialled_destination_as_the_voice_url_does():
    def kind(from_address, to_address, direction="inbound"):
        return parent_kind(direction=direction, from_address=from_address, to_address=to_address)

    assert kind("+12125550123", SUPPORT_LINE) == "inbound"
    assert kind("client:alice", "+12125550123") == "outbound"
    assert kind("client:alice", "bob") == "internal"
    assert kind("client:alice", "client:bob") == "internal"
    assert kind("client:alice", "") == ""
    assert kind(SUPPORT_LINE, CUSTOMER, direction="outbound-api") == "other"
    assert kind("", "", direction="") == ""
    assert kind_seen_from_child(from_address="client:bob", to_address="client:alice") == (
        "internal"
    )
    assert kind_seen_from_child(from_address=CUSTOMER, to_address="client:alice") == "inbound"
    assert kind_seen_from_child(from_address=SUPPORT_LINE, to_address=CUSTOMER) == "outbound"
