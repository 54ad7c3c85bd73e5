"""The conference hub, end to end: a call answered by our <Dial> meets in a conference of its
own, and agents hold, transfer and consult through the API, all through signed webhooks and
Twilio's REST API (the fake, over real HTTP)."""

import pytest

from agents.models import Agent
from calls.models import Call, Conference, ConferenceParticipant
from tests.factories import AgentFactory, PhoneNumberFactory, UserFactory
from tests.hub_calls import SUPPORT_LINE, HubCall
from voiceproject.roles import SUPERVISORS

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


def ringing_party(response, label: str) -> str:
    (sid,) = [p["call_sid"] for p in response.json()["parties"] if p["label"] == label]
    return sid


def test_a_blind_transfer_to_a_colleague_hands_the_customer_over(answered):
    response = act(answered, "alice", "transfer", to="bob")
    assert response.status_code == 200
    states = {p["label"]: p["state"] for p in response.json()["parties"]}
    assert states == {"customer": "on-hold", "agent:bob": "ringing"}

    bob_leg = ringing_party(response, "agent:bob")
    answered.conferences.answer(bob_leg)
    answered.deliver()
    answered.deliver()  # the customer coming off hold, once bob joined

    assert not party(answered, "customer").hold
    assert party(answered, "agent:alice").left_at is not None
    conference = Conference.objects.get(friendly_name=answered.name)
    assert conference.transfers == 1
    # bob's leg, which Twilio made without a ParentCallSid, is in the customer's family.
    assert Call.objects.get(sid=bob_leg).parent.sid == answered.parent_sid


def test_a_blind_transfer_to_a_number_calls_it_from_the_number_called(answered):
    response = act(answered, "alice", "transfer", to="(212) 555-0188")

    assert response.status_code == 200
    create = next(form for path, form in answered.fake.writes if path.endswith("Participants.json"))
    assert create["To"] == "+12125550188"
    assert create["From"] == SUPPORT_LINE
    assert create["Label"] == "party:1"


def test_a_blind_transfer_nobody_answers_goes_to_the_unanswered_call_policy(answered):
    response = act(answered, "alice", "transfer", to="bob")
    bob_leg = ringing_party(response, "agent:bob")

    answered.conferences.not_answer(bob_leg)
    answered.deliver()

    redirect = [
        form
        for path, form in answered.fake.writes
        if path.endswith(f"Calls/{answered.parent_sid}.json")
    ]
    assert redirect == [{"Url": "http://testserver/twilio/dial/?offered=", "Method": "POST"}]


def test_a_transfer_only_goes_to_a_colleague_free_to_take_it(answered):
    Agent.objects.filter(identity="bob").update(availability="away")

    response = act(answered, "alice", "transfer", to="bob")

    assert response.status_code == 409
    assert response.json()["detail"] == "That colleague is not available to take a call right now."
    assert not party(answered, "customer").hold


def test_a_warm_transfer_completed_leaves_the_customer_with_the_colleague(answered):
    response = act(answered, "alice", "consult", to="bob")
    assert response.json()["consulting"]
    bob_leg = ringing_party(response, "agent:bob")
    answered.conferences.answer(bob_leg)
    answered.deliver()

    response = act(answered, "alice", "complete")

    assert response.status_code == 200
    assert party(answered, "agent:alice").left_at is not None
    assert not party(answered, "customer").hold
    assert party(answered, "agent:bob").left_at is None
    assert Conference.objects.get(friendly_name=answered.name).transfers == 1


def test_a_warm_transfer_completed_before_the_colleague_answers_is_refused(answered):
    act(answered, "alice", "consult", to="bob")

    response = act(answered, "alice", "complete")

    assert response.status_code == 409
    assert response.json()["detail"] == "The colleague you are consulting has not answered yet."


def test_a_warm_transfer_cancelled_brings_the_customer_back(answered):
    response = act(answered, "alice", "consult", to="bob")
    answered.conferences.answer(ringing_party(response, "agent:bob"))
    answered.deliver()

    response = act(answered, "alice", "cancel-consult")

    assert response.status_code == 200
    states = {p["label"]: p["state"] for p in response.json()["parties"]}
    assert states == {"customer": "talking", "agent:alice": "talking"}
    assert Conference.objects.get(friendly_name=answered.name).transfers == 0


def test_a_three_way_call_adds_a_party_to_the_conversation(answered):
    response = act(answered, "alice", "add", to="+12125550177")
    third = ringing_party(response, "party:1")
    answered.conferences.answer(third)
    answered.deliver()

    response = act(answered, "alice", "remove", call_sid=third)

    assert response.status_code == 200
    assert {p["label"] for p in response.json()["parties"]} == {"customer", "agent:alice"}
    assert not party(answered, "customer").hold


def test_an_action_on_a_call_that_ended_answers_409(answered):
    answered.conferences.hang_up(answered.parent_sid)
    answered.deliver()

    response = act(answered, "alice", "hold")

    assert response.status_code == 409
    assert response.json()["detail"] == "The call has ended."


def test_an_agent_cannot_act_on_someone_elses_call(answered):
    response = act(answered, "bob", "hold")

    assert response.status_code == 403
    assert not party(answered, "customer").hold


def test_the_customer_hanging_up_ends_the_call_by_the_customer(answered):
    answered.conferences.hang_up(answered.parent_sid)
    answered.deliver()

    conference = Conference.objects.get(friendly_name=answered.name)
    assert conference.status == "completed"
    assert conference.ended_by == "customer"


def test_the_agent_hanging_up_ends_the_call_by_the_agent(answered):
    answered.conferences.hang_up(answered.agent_leg)
    answered.deliver()

    assert Conference.objects.get(friendly_name=answered.name).ended_by == "agent"


def test_a_supervisor_whispering_is_shown_coaching_before_twilio_says_so(answered):
    AgentFactory(identity="sue", user=UserFactory(groups=[SUPERVISORS]))
    act(answered, "sue", "monitor", mode="listen")
    answered.conferences.answer(party(answered, "supervisor:sue").call_sid)
    answered.deliver()

    # Twilio's callback about the change is not delivered yet.
    response = answered.client.post(
        f"/api/hub/{answered.name}/monitor/", {"mode": "whisper"}, content_type="application/json"
    )

    (supervisor,) = [p for p in response.json()["parties"] if p["role"] == "supervisor"]
    assert supervisor["mode"] == "whisper"
