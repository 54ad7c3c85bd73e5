"""Inbound calls ring only the agents who can take them, as signed webhooks tell it."""

import random
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.constants import Availability
from calls.models import Call
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import AgentFactory, PhoneNumberFactory, UserFactory
from tests.twilio_requests import deliver, post_signed
from twilio_fakes.scenarios import CallPlan, agent_to_agent, agent_to_pstn, pstn_to_agents

pytestmark = pytest.mark.django_db

SUPPORT_LINE = "+14155550100"
CUSTOMER = "+12125550123"


def plan() -> CallPlan:
    return CallPlan(
        account_sid=TEST_ACCOUNT_SID,
        application_sid="AP" + "d" * 32,
        started_at=timezone.now() - timedelta(minutes=5),
    )


def available(identity: str, **fields):
    return AgentFactory(identity=identity, availability=Availability.AVAILABLE, **fields)


def support_line(*agents, friendly_name="Support"):
    line = PhoneNumberFactory(number=SUPPORT_LINE, friendly_name=friendly_name)
    line.agents.add(*agents)
    return line


def ring(client, number=SUPPORT_LINE) -> ET.Element:
    """The TwiML answering a new call from a customer to `number`."""
    voice_request = pstn_to_agents(
        plan(), random.Random(), caller=CUSTOMER, number=number, identities=["anyone"]
    )[0]
    response = deliver(client, voice_request)
    assert response.status_code == 200
    return ET.fromstring(response.content)


def rung(document: ET.Element) -> list[str]:
    dial = document.find("Dial")
    if dial is None:
        return []
    return [client.find("Identity").text for client in dial.findall("Client")]


def parameters(client_noun: ET.Element) -> dict[str, str]:
    return {p.attrib["name"]: p.attrib["value"] for p in client_noun.findall("Parameter")}


def deliver_until(client, deliveries, status: str) -> list:
    """Deliver a call's webhooks up to its child leg reaching `status`; return the rest."""
    for position, delivery in enumerate(deliveries):
        assert deliver(client, delivery).status_code in (200, 204)
        if delivery.parameters.get("ParentCallSid") and delivery.parameters["CallStatus"] == status:
            return deliveries[position + 1 :]
    raise AssertionError(f"no child leg reached {status}")


def test_an_available_agent_is_rung(client):
    support_line(available("alice"))
    assert rung(ring(client)) == ["alice"]


@pytest.mark.parametrize("availability", [Availability.AWAY, Availability.OFFLINE])
def test_away_and_offline_agents_are_not_rung(client, availability):
    support_line(available("alice"), AgentFactory(identity="bob", availability=availability))
    assert rung(ring(client)) == ["alice"]


def test_an_agent_on_a_call_is_not_rung_until_its_completed_callback(client):
    alice = available("alice")
    support_line(alice, available("bob"))
    call = pstn_to_agents(
        plan(), random.Random(1), caller="+13105550111", number=SUPPORT_LINE, identities=["alice"]
    )
    rest = deliver_until(client, call, "in-progress")

    assert rung(ring(client)) == ["bob"]

    for delivery in rest:
        deliver(client, delivery)
    assert sorted(rung(ring(client))) == ["alice", "bob"]


def test_an_agent_on_an_outgoing_call_is_not_rung_until_it_ends(client):
    alice = available("alice", caller_id=SUPPORT_LINE)
    support_line(alice, available("bob"))
    call = agent_to_pstn(
        plan(), random.Random(2), identity="alice", caller_id=SUPPORT_LINE, destination=CUSTOMER
    )
    rest = deliver_until(client, call, "in-progress")

    assert rung(ring(client)) == ["bob"]

    for delivery in rest:
        deliver(client, delivery)
    assert sorted(rung(ring(client))) == ["alice", "bob"]


def test_a_leg_silent_for_longer_than_the_limit_no_longer_counts_as_a_call(client, settings):
    settings.ON_CALL_MAX_SILENCE = 3600
    alice = available("alice")
    support_line(alice)
    call = pstn_to_agents(
        plan(), random.Random(1), caller="+13105550111", number=SUPPORT_LINE, identities=["alice"]
    )
    deliver_until(client, call, "in-progress")
    assert rung(ring(client)) == []

    Call.objects.filter(agent=alice).update(updated_at=timezone.now() - timedelta(hours=2))
    assert rung(ring(client)) == ["alice"]


def test_an_agent_whose_softphone_stopped_heartbeating_is_not_rung(client, settings):
    settings.PRESENCE_TIMEOUT = 90
    now = timezone.now()
    support_line(
        available("alice", heartbeat_at=now - timedelta(seconds=30)),
        available("bob", heartbeat_at=now - timedelta(seconds=91)),
        available("carol", heartbeat_at=None),
    )
    assert sorted(rung(ring(client))) == ["alice", "carol"]


def test_agents_idle_longest_ring_first(client):
    now = timezone.now()
    # Available longest, but just finished a call.
    carol = available("carol", availability_since=now - timedelta(hours=3))
    Call.objects.create(
        sid="CA" + "c" * 32,
        agent=carol,
        status="completed",
        start_time=now - timedelta(minutes=10),
        end_time=now - timedelta(minutes=1),
    )
    support_line(
        available("alice", availability_since=now - timedelta(minutes=30)),
        available("bob", availability_since=now - timedelta(hours=2)),
        carol,
    )
    assert rung(ring(client)) == ["bob", "alice", "carol"]


def test_at_most_ten_agents_ring_and_they_are_the_ones_idle_longest(client):
    now = timezone.now()
    agents = [
        available(f"agent_{n:02d}", availability_since=now - timedelta(minutes=n))
        for n in range(12)
    ]
    support_line(*agents)
    assert rung(ring(client)) == [f"agent_{n:02d}" for n in range(11, 1, -1)]


def sent_to_the_unanswered_policy(document: ET.Element) -> bool:
    """The call goes straight to our <Dial> action, which applies the unanswered policy."""
    return [element.tag for element in document] == ["Redirect"] and document[0].text.endswith(
        "/twilio/dial/?offered="
    )


def test_nobody_eligible_goes_to_the_numbers_policy_never_an_empty_dial(client):
    support_line(AgentFactory(identity="alice", availability=Availability.AWAY))
    assert sent_to_the_unanswered_policy(ring(client))


def test_each_client_carries_the_caller_and_the_number_called(client):
    support_line(available("alice"), available("bob"), friendly_name="Support <EU> & co")
    for noun in ring(client).find("Dial"):
        assert parameters(noun) == {
            "caller_number": CUSTOMER,
            "called_number": SUPPORT_LINE,
            "called_name": "Support <EU> & co",
        }


def test_a_call_between_agents_carries_the_callers_identity_and_name(client):
    AgentFactory(identity="alice", user=UserFactory(first_name="Alice", last_name="Adams"))
    available("bob")
    voice_request = agent_to_agent(
        plan(), random.Random(), identity="alice", callee_identity="bob"
    )[0]
    (noun,) = ET.fromstring(deliver(client, voice_request).content).find("Dial")
    assert noun.find("Identity").text == "bob"
    assert parameters(noun) == {"caller_identity": "alice", "caller_name": "Alice Adams"}


@pytest.mark.parametrize("availability", [Availability.AWAY, Availability.OFFLINE])
def test_a_call_to_an_agent_who_cannot_take_it_goes_to_their_policy(client, availability):
    AgentFactory(identity="alice")
    AgentFactory(identity="bob", availability=availability)
    voice_request = agent_to_agent(
        plan(), random.Random(), identity="alice", callee_identity="bob"
    )[0]
    document = ET.fromstring(
        post_signed(client, "/twilio/voice/", voice_request.parameters).content
    )
    assert sent_to_the_unanswered_policy(document)


def test_a_call_to_an_agent_on_a_call_goes_to_their_policy(client):
    AgentFactory(identity="alice")
    bob = available("bob")
    support_line(bob)
    call = pstn_to_agents(
        plan(), random.Random(1), caller="+13105550111", number=SUPPORT_LINE, identities=["bob"]
    )
    deliver_until(client, call, "in-progress")
    voice_request = agent_to_agent(
        plan(), random.Random(2), identity="alice", callee_identity="bob"
    )[0]
    document = ET.fromstring(deliver(client, voice_request).content)
    assert sent_to_the_unanswered_policy(document)
