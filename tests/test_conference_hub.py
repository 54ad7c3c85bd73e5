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


@pytest.fixture
def supervisor(db):
    from django.contrib.auth.models import Group

    sue = AgentFactory(identity="sue", availability="available")
    sue.user.groups.add(Group.objects.get(name="Supervisors"))
    return sue


def monitor(call: HubCall, identity: str, mode: str):
    return act(call, identity, "monitor", mode=mode)


def test_a_supervisor_listens_muted_from_her_softphone(answered, supervisor):
    response = monitor(answered, "sue", "listen")

    assert response.status_code == 200
    create = next(form for path, form in answered.fake.writes if path.endswith("Participants.json"))
    assert create["To"] == "client:sue"
    assert create["Muted"] == "true"
    assert create["Label"] == "supervisor:sue"
    assert create["EndConferenceOnExit"] == "false"


def test_a_supervisor_whispers_to_the_agent_and_the_agent_is_told(answered, supervisor):
    response = monitor(answered, "sue", "listen")
    answered.conferences.answer(ringing_party(response, "supervisor:sue"))
    answered.deliver()

    monitor(answered, "sue", "whisper")

    update = answered.fake.writes[-1][1]
    assert update["Coaching"] == "true"
    assert update["CallSidToCoach"] == answered.agent_leg
    answered.client.force_login(Agent.objects.get(identity="alice").user)
    state = answered.client.get("/api/hub/current/").json()
    assert state["supervised"]
    (sue,) = [p for p in state["parties"] if p["role"] == "supervisor"]
    assert sue["mode"] == "whisper"


def test_a_supervisor_whispering_is_shown_coaching_before_twilio_says_so(answered, supervisor):
    response = monitor(answered, "sue", "listen")
    answered.conferences.answer(ringing_party(response, "supervisor:sue"))
    answered.deliver()

    # Twilio's callback about the change is not delivered yet.
    response = answered.client.post(
        f"/api/hub/{answered.name}/monitor/", {"mode": "whisper"}, content_type="application/json"
    )

    (sue,) = [p for p in response.json()["parties"] if p["role"] == "supervisor"]
    assert sue["mode"] == "whisper"


def test_a_supervisor_barges_in_then_leaves(answered, supervisor):
    response = monitor(answered, "sue", "listen")
    answered.conferences.answer(ringing_party(response, "supervisor:sue"))
    answered.deliver()

    monitor(answered, "sue", "barge")
    assert answered.fake.writes[-1][1] == {"Muted": "false", "Coaching": "false"}
    response = act(answered, "sue", "leave")

    assert response.status_code == 200
    assert "supervisor:sue" not in {p["label"] for p in response.json()["parties"]}
    assert Conference.objects.get(friendly_name=answered.name).status == "in-progress"


def test_only_supervisors_listen_in(answered):
    response = monitor(answered, "bob", "listen")

    assert response.status_code == 403
    assert not any(path.endswith("Participants.json") for path, _ in answered.fake.writes)


def test_callbacks_shuffled_repeated_and_late_give_the_same_record(
    client, fake_twilio, celery_in_process, line
):
    import random

    from tests.hub_calls import post_callback

    call = HubCall(client, fake_twilio)
    call.agent_leg = call.answered_by("alice")
    act(call, "alice", "hold")
    act(call, "alice", "resume")
    call.conferences.hang_up(call.parent_sid)
    call.deliver()
    in_order = _record(call)

    Conference.objects.all().delete()
    callbacks = list(call.conferences.callbacks)
    shuffled = callbacks + callbacks[:5]
    random.Random(3).shuffle(shuffled)
    for callback in shuffled:
        assert post_callback(client, callback) == 204

    assert _record(call) == in_order


def _record(call: HubCall):
    conference = Conference.objects.get(friendly_name=call.name)
    return (
        conference.status,
        conference.ended_by,
        conference.hold_seconds,
        sorted(
            (p.call_sid, p.label, p.holds, p.joined_at, p.left_at, p.reason_left)
            for p in conference.participants.all()
        ),
        conference.events.count(),
    )


def test_an_agents_outgoing_call_meets_the_customer_in_a_conference(
    client, fake_twilio, celery_in_process
):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    call = HubCall.outgoing(client, fake_twilio, identity="alice", to="+12125550123")

    customer_leg = call.answered_at("+12125550123")

    conference = Conference.objects.get(friendly_name=call.name)
    assert {(p.call_sid, p.label) for p in conference.participants.all()} == {
        (call.parent_sid, "agent:alice"),
        (customer_leg, "customer"),
    }
    assert act(call, "alice", "hold").status_code == 200
    assert party(call, "customer").hold


def test_an_agent_cancels_her_outgoing_call_while_it_rings(client, fake_twilio):
    alice = AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    call = HubCall.outgoing(client, fake_twilio, identity="alice", to="+12125550123")
    call.rings()
    ringing = "CA" + "e" * 32
    fake_twilio.add_call(ringing, status="ringing", parent_call_sid=call.parent_sid)
    call.status(
        {
            **call.parent,
            "CallSid": ringing,
            "ParentCallSid": call.parent_sid,
            "Direction": "outbound-dial",
            "From": SUPPORT_LINE,
            "To": "+12125550123",
        },
        "ringing",
    )
    client.force_login(alice.user)

    response = client.post(f"/api/hub/calls/{call.parent_sid}/cancel/")

    assert response.status_code == 200
    assert fake_twilio.writes[-1] == (
        f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Calls/{ringing}.json",
        {"Status": "canceled"},
    )


def test_a_recorded_number_records_the_conference_as_one_file(
    client, fake_twilio, celery_in_process
):
    line = PhoneNumberFactory(number=SUPPORT_LINE, record_calls=True)
    line.agents.add(AgentFactory(identity="alice", availability="available"))
    call = HubCall(client, fake_twilio)

    dial = call.rings().find("Dial")
    assert dial.get("record") is None  # the conference records, not the <Dial>
    call.answered_by("alice")

    moved = next(form for path, form in fake_twilio.writes if "Twiml" in form)
    assert 'record="record-from-start"' in moved["Twiml"]
    assert f"recording/?family={call.parent_sid}" in moved["Twiml"]


def test_a_conference_recording_is_kept_with_the_family_it_records(client, answered):
    from calls.models import Recording
    from tests.twilio_requests import post_signed, recording_callback

    form = recording_callback(
        answered.parent_sid, "RE" + "c" * 32, "completed", RecordingSource="Conference"
    )
    del form["CallSid"]
    form["ConferenceSid"] = Conference.objects.get(friendly_name=answered.name).sid

    response = post_signed(client, f"/twilio/recording/?family={answered.parent_sid}", form)

    assert response.status_code == 204
    assert Recording.objects.get().call.sid == answered.parent_sid


def test_the_family_page_and_api_show_the_conference_timeline(answered):
    act(answered, "alice", "hold")
    act(answered, "alice", "resume")
    answered.conferences.hang_up(answered.parent_sid)
    answered.deliver()
    answered.client.force_login(Agent.objects.get(identity="alice").user)

    page = answered.client.get(f"/calls/{answered.parent_sid}/").content.decode()
    family = answered.client.get(f"/api/calls/{answered.parent_sid}/").json()

    assert "ended by the customer" in page
    assert "On hold" in page
    assert "Off hold" in page
    conference = family["conference"]
    assert conference["ended_by"] == "customer"
    assert [entry["what"] for entry in conference["timeline"]][:2] == ["Joined", "Joined"]
    assert {"Hold", "Resume", "Conference ended"} <= {e["what"] for e in conference["timeline"]}


def test_statistics_count_each_agents_hold_time_and_transfers(answered):
    act(answered, "alice", "hold")
    act(answered, "alice", "resume")
    act(answered, "alice", "transfer", to="bob")
    answered.client.force_login(Agent.objects.get(identity="alice").user)

    stats = answered.client.get("/api/calls/stats/").json()

    (alice,) = stats["handling"]
    assert alice["identity"] == "alice"
    assert alice["calls"] == 1
    assert alice["calls_held"] == 1
    assert alice["transfers"] == 1


def test_the_call_log_filters_families_by_how_they_were_handled(answered):
    act(answered, "alice", "transfer", to="bob")
    answered.client.force_login(Agent.objects.get(identity="alice").user)

    transferred = answered.client.get("/api/calls/", {"transferred": "yes"}).json()
    untransferred = answered.client.get("/api/calls/", {"transferred": "no"}).json()

    assert [family["sid"] for family in transferred["results"]] == [answered.parent_sid]
    assert transferred["results"][0]["transfers"] == 1
    assert untransferred["results"] == []


def test_reconciliation_closes_a_conference_whose_end_was_never_heard(answered):
    from datetime import timedelta

    from django.utils import timezone

    from calls.reconcile.conferences import reconcile_open_conferences

    answered.conferences.hang_up(answered.parent_sid)  # its callbacks are lost

    check = reconcile_open_conferences(now=timezone.now() + timedelta(minutes=10))

    assert check.closed == 1
    conference = Conference.objects.get(friendly_name=answered.name)
    assert conference.status == "completed"
    assert conference.ended_by == "customer"
    assert not conference.participants.filter(left_at__isnull=True).exists()


def test_reconciliation_leaves_a_conference_that_still_goes_on(answered):
    from datetime import timedelta

    from django.utils import timezone

    from calls.reconcile.conferences import reconcile_open_conferences

    check = reconcile_open_conferences(now=timezone.now() + timedelta(minutes=10))

    assert check == type(check)(asked=1, closed=0, failed=0)
    assert Conference.objects.get(friendly_name=answered.name).status == "in-progress"


def conference_callback(**changes: str) -> dict[str, str]:
    """A participant-join as Twilio posts it, with fields changed."""
    from tests.conftest import TEST_ACCOUNT_SID

    return {
        "AccountSid": TEST_ACCOUNT_SID,
        "ConferenceSid": "CF" + "1" * 32,
        "FriendlyName": "hub-CA" + "2" * 32,
        "StatusCallbackEvent": "participant-join",
        "SequenceNumber": "2",
        "Timestamp": "Mon, 07 Dec 2026 10:00:00 +0000",
        "CallSid": "CA" + "3" * 32,
        "ParticipantLabel": "customer",
        "Hold": "false",
        "Muted": "false",
        "Coaching": "false",
        "EndConferenceOnExit": "true",
        "StartConferenceOnEnter": "true",
        **changes,
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"ConferenceSid": "CF123"},
        {"Hold": "maybe"},
        {"CallSid": ""},
        {"SequenceNumber": "two"},
        {"Timestamp": "yesterday"},
        {"StatusCallbackEvent": "participant-join'; DROP TABLE"},
        {"CallSidEndingConference": "nope"},
    ],
)
def test_a_malformed_conference_callback_is_refused_and_nothing_stored(client, changes):
    from tests.twilio_requests import post_signed

    response = post_signed(client, "/twilio/conference/", conference_callback(**changes))

    assert response.status_code == 400
    assert not Conference.objects.exists()


def test_a_forged_conference_callback_is_refused_and_nothing_stored(client):
    from urllib.parse import urlencode

    response = client.post(
        "/twilio/conference/",
        urlencode(conference_callback()),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "forged"},
    )

    assert response.status_code == 403
    assert not Conference.objects.exists()


def test_a_conference_event_twilio_adds_later_is_kept(client):
    from tests.twilio_requests import post_signed

    form = conference_callback(StatusCallbackEvent="participant-wave", Extra="anything")
    response = post_signed(client, "/twilio/conference/", form)

    assert response.status_code == 204
    assert Conference.objects.get().events.get().event == "participant-wave"


def test_a_call_twilio_cannot_move_stays_bridged_and_the_callback_answers_at_once(
    client, celery_in_process, line, settings
):
    import time

    from tests.hub_calls import HubCall

    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: refused at once
    call = HubCall(client, _NoFake())
    began = time.monotonic()

    call.answered_by("alice")

    assert time.monotonic() - began < 3
    assert Conference.objects.get(friendly_name=call.name).status == "failed"
    assert (
        call.dial_ended(offered="alice", dial_call_sid=call.parent_sid).find("Hangup") is not None
    )


class _NoFake:
    """Where the driver would register calls with Twilio's fake: Twilio is unreachable."""

    conferences = None

    def add_call(self, *args, **fields):
        return {}


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("transfer", {"to": ["bob"]}),
        ("transfer", {"to": {"identity": "bob"}}),
        ("transfer", {"to": "bob\x00"}),
        ("transfer", {"to": "9" * 10_000}),
        ("consult", {}),
        ("add", {"to": True}),
        ("remove", {"call_sid": {"$ne": None}}),
        (
            "transfer",
            {
                "to": "bob",
                "nested": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
            },
        ),
    ],
)
def test_an_action_with_a_bad_body_is_refused_and_changes_nothing(answered, action, body):
    writes = len(answered.fake.writes)

    response = act(answered, "alice", action, **body)

    assert response.status_code in (400, 409)
    assert len(answered.fake.writes) == writes
    assert not party(answered, "customer").hold


def test_a_supervisor_asking_for_a_mode_there_is_not_is_refused(answered, supervisor):
    response = monitor(answered, "sue", "shout")

    assert response.status_code == 400
    assert not ConferenceParticipant.objects.filter(label="supervisor:sue").exists()


def test_a_conference_that_does_not_exist_answers_404(answered):
    answered.client.force_login(Agent.objects.get(identity="alice").user)

    response = answered.client.post(
        "/api/hub/hub-CA%00x/hold/", {}, content_type="application/json"
    )

    assert response.status_code in (400, 404)


def test_an_agent_cannot_cancel_a_colleagues_call(client, fake_twilio):
    bob = AgentFactory(identity="bob")
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    call = HubCall.outgoing(client, fake_twilio, identity="alice", to="+12125550123")
    call.rings()
    client.force_login(bob.user)

    response = client.post(f"/api/hub/calls/{call.parent_sid}/cancel/")

    assert response.status_code == 404
    assert fake_twilio.writes == []
