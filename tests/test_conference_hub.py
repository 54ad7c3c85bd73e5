"""The conference hub, end to end: a call answered by our <Dial> meets in a conference of its
own, and agents hold, transfer and consult through the API, all through signed webhooks and
Twilio's REST API (the fake, over real HTTP)."""

import pytest

from agents.models import Agent
from calls.models import Call, Conference, ConferenceParticipant
from tests.factories import AgentFactory, PhoneNumberFactory
from tests.hub_calls import SUPPORT_LINE, HubCall

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(db):
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    line.agents.add(AgentFactory(identity="alice", availability="available"))
    line.agents.add(AgentFactory(identity="bob", availability="available"))
    return line


@pytest.fixture
def answered(client, fake_twilio, celery_in_process, line):
    call = HubCall(client, fake_twilio)
    call.agent_leg = call.answered_by("alice")
    return call


def test_an_answered_call_meets_in_a_conference_of_its_own(answered):
    conference = Conference.objects.get(friendly_name=answered.name)

    assert conference.status == "in-progress"
    assert conference.family.sid == answered.parent_sid
    assert {(p.call_sid, p.label) for p in conference.participants.all()} == {
        (answered.parent_sid, "customer"),
        (answered.agent_leg, "agent:alice"),
    }


def test_the_conference_name_carries_no_personal_data(answered):
    assert answered.name == f"hub-{answered.parent_sid}"
    assert "+1" not in answered.name


def act(call: HubCall, identity: str, action: str, **data):
    """An agent's request to the hub's API, logged in as her; Twilio's callbacks about what
    it did are then delivered."""
    call.client.force_login(Agent.objects.get(identity=identity).user)
    response = call.client.post(
        f"/api/hub/{call.name}/{action}/", data, content_type="application/json"
    )
    call.deliver()
    return response


def party(call: HubCall, label: str) -> ConferenceParticipant:
    return ConferenceParticipant.objects.get(conference__friendly_name=call.name, label=label)


def test_an_agent_puts_the_customer_on_hold_with_music(answered):
    response = act(answered, "alice", "hold")

    assert response.status_code == 200
    customer = party(answered, "customer")
    assert customer.hold
    hold = answered.fake.writes[-1]
    assert hold[0].endswith(f"/Participants/{answered.parent_sid}.json")
    assert hold[1]["Hold"] == "true"
    assert hold[1]["HoldUrl"] == "http://testserver/static/voice/hold-music.wav"
    states = {p["label"]: p["state"] for p in response.json()["parties"]}
    assert states == {"customer": "on-hold", "agent:alice": "talking"}


def test_holding_twice_asks_twilio_once(answered):
    act(answered, "alice", "hold")
    writes = len(answered.fake.writes)

    assert act(answered, "alice", "hold").status_code == 200
    assert len(answered.fake.writes) == writes


def test_resuming_takes_the_customer_off_hold_and_counts_the_hold(answered):
    act(answered, "alice", "hold")
    act(answered, "alice", "resume")

    customer = party(answered, "customer")
    assert not customer.hold
    assert customer.holds == 1
