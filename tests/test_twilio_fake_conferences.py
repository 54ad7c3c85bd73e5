"""The fake Twilio's conferences, driven through the official helper library as our server
drives Twilio: call updates, Conferences, Participants, and the callbacks Twilio sends."""

import re
import threading
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from tests.conftest import TEST_AUTH_TOKEN
from tests.factories import random_sid
from voiceproject.twilio_rest import twilio_rest_client

HUB = "https://hub.example.com/twilio/conference/"
PROGRESS = "https://hub.example.com/twilio/participant-call/"
EVERY_EVENT = "start end join leave mute hold modify speaker announcement"
AGENT = "client:alice"
CUSTOMER_LINE = "+14155550100"


@pytest.fixture
def client(fake_twilio):
    return twilio_rest_client()


def conference_events(fake_twilio) -> list[str]:
    return [
        callback.parameters["StatusCallbackEvent"]
        for callback in fake_twilio.conferences.callbacks
        if "ConferenceSid" in callback.parameters
    ]


def conference_callbacks(fake_twilio, event: str) -> list[dict[str, str]]:
    return [
        callback.parameters
        for callback in fake_twilio.conferences.callbacks
        if callback.parameters.get("StatusCallbackEvent") == event
    ]


def customer_in_conference(fake_twilio, name: str = "support-1", **attributes) -> str:
    """A customer's call, in progress, joined to a conference that reports every event."""
    call_sid = random_sid("CA")
    settings = {
        "label": "customer",
        "start_conference_on_enter": False,
        "status_callback": HUB,
        "status_callback_event": EVERY_EVENT,
    }
    fake_twilio.conferences.join(call_sid, name, **settings | attributes)
    return call_sid


def agent_added(client, name: str = "support-1", **parameters):
    settings = {"from_": CUSTOMER_LINE, "to": AGENT, "label": "agent"}
    return client.conferences(name).participants.create(**settings | parameters)


def answered_agent(client, fake_twilio, name: str = "support-1", **parameters) -> str:
    participant = agent_added(client, name, **parameters)
    fake_twilio.conferences.answer(participant.call_sid)
    return participant.call_sid


def call_that_is(fake_twilio, status: str) -> str:
    sid = random_sid("CA")
    fake_twilio.add_call(sid, status=status)
    return sid


# Call updates


def test_a_call_updated_to_completed_ends_and_the_answer_is_the_call(client, fake_twilio):
    sid = call_that_is(fake_twilio, "in-progress")

    call = client.calls(sid).update(status="completed")

    assert (call.sid, call.status) == (sid, "completed")
    assert client.calls(sid).fetch().status == "completed"


@pytest.mark.parametrize("status", ["queued", "ringing", "completed", "busy"])
def test_redirecting_a_call_that_is_not_in_progress_answers_twilios_21220(
    client, fake_twilio, status
):
    sid = call_that_is(fake_twilio, status)

    with pytest.raises(TwilioRestException) as refused:
        client.calls(sid).update(twiml="<Response><Hangup/></Response>")

    assert (refused.value.status, refused.value.code) == (400, 21220)
    assert refused.value.msg.endswith("Call is not in-progress. Cannot redirect.")


def test_hanging_up_a_call_that_has_ended_answers_21220(client, fake_twilio):
    sid = call_that_is(fake_twilio, "completed")

    with pytest.raises(TwilioRestException) as refused:
        client.calls(sid).update(status="completed")

    assert (refused.value.status, refused.value.code) == (400, 21220)


def test_canceled_hangs_up_a_ringing_call(client, fake_twilio):
    sid = call_that_is(fake_twilio, "ringing")

    assert client.calls(sid).update(status="canceled").status == "canceled"


def test_canceled_leaves_a_call_in_progress_alone(client, fake_twilio):
    sid = call_that_is(fake_twilio, "in-progress")

    assert client.calls(sid).update(status="canceled").status == "in-progress"


def test_a_status_other_than_canceled_or_completed_answers_400(client, fake_twilio):
    sid = call_that_is(fake_twilio, "in-progress")

    with pytest.raises(TwilioRestException) as refused:
        client.calls(sid).update(status="busy")

    assert refused.value.status == 400


def test_updating_an_unknown_call_answers_404(client, fake_twilio):
    with pytest.raises(TwilioRestException) as refused:
        client.calls(random_sid("CA")).update(status="completed")

    assert (refused.value.status, refused.value.code) == (404, 20404)


def test_twiml_with_dial_conference_joins_the_call_to_that_conference(client, fake_twilio):
    sid = call_that_is(fake_twilio, "in-progress")
    twiml = (
        '<Response><Dial><Conference participantLabel="customer" endConferenceOnExit="true" '
        f'startConferenceOnEnter="false" statusCallback="{HUB}" statusCallbackEvent="join">'
        "support-1</Conference></Dial></Response>"
    )

    client.calls(sid).update(twiml=twiml)

    conference = client.conferences.list(friendly_name="support-1")[0]
    participant = client.conferences(conference.sid).participants(sid).fetch()
    assert (participant.label, participant.end_conference_on_exit) == ("customer", True)
    assert participant.start_conference_on_enter is False
    assert participant.status == "connected"
    assert conference_events(fake_twilio) == ["participant-join"]


def test_twiml_with_a_coach_joins_the_call_coaching_that_participant(client, fake_twilio):
    customer_in_conference(fake_twilio)
    agent = answered_agent(client, fake_twilio)
    supervisor = call_that_is(fake_twilio, "in-progress")

    client.calls(supervisor).update(
        twiml=f'<Response><Dial><Conference coach="{agent}" muted="true">support-1'
        "</Conference></Dial></Response>"
    )

    sid = client.conferences.list()[0].sid
    whispering = client.conferences(sid).participants(supervisor).fetch()
    assert (whispering.coaching, whispering.call_sid_to_coach, whispering.muted) == (
        True,
        agent,
        True,
    )


def test_new_twiml_takes_a_call_out_of_its_conference_and_the_call_goes_on(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    answered_agent(client, fake_twilio)

    call = client.calls(customer).update(twiml="<Response><Say>Goodbye</Say></Response>")

    assert call.status == "in-progress"
    (leave,) = conference_callbacks(fake_twilio, "participant-leave")
    assert leave["CallSid"] == customer
    assert leave["ReasonParticipantLeft"] == "participant_updated_via_api"
    assert leave["ParticipantCallStatus"] == "in-progress"


def test_twiml_that_is_not_xml_answers_400_and_changes_nothing(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)

    with pytest.raises(TwilioRestException) as refused:
        client.calls(customer).update(twiml="<Response><Dial>")

    assert refused.value.status == 400
    assert len(client.conferences("support-1").participants.list()) == 1


# Conferences


def test_a_conference_has_twilios_fields(client, fake_twilio):
    customer_in_conference(fake_twilio)

    (conference,) = client.conferences.list()

    assert re.fullmatch(r"CF[0-9a-f]{32}", conference.sid)
    fetched = client.conferences(conference.sid).fetch()
    assert (fetched.friendly_name, fetched.status, fetched.region) == ("support-1", "init", "us1")
    assert fetched.reason_conference_ended is None
    assert fetched.call_sid_ending_conference is None
    assert fetched.date_created is not None
    assert fetched.subresource_uris["participants"].endswith(
        f"/Conferences/{conference.sid}/Participants.json"
    )


def test_the_conferences_list_filters_by_friendly_name_and_status(client, fake_twilio):
    customer_in_conference(fake_twilio, "support-1")
    customer_in_conference(fake_twilio, "support-2")
    client.conferences(client.conferences.list(friendly_name="support-2")[0].sid).update(
        status="completed"
    )

    assert [c.friendly_name for c in client.conferences.list(status="init")] == ["support-1"]
    completed = client.conferences.list(friendly_name="support-2", status="completed")
    assert [c.friendly_name for c in completed] == ["support-2"]


def test_the_conferences_list_pages_like_twilios(client, fake_twilio):
    for number in range(5):
        customer_in_conference(fake_twilio, f"room-{number}")

    names = [conference.friendly_name for conference in client.conferences.list(page_size=2)]

    assert sorted(names) == [f"room-{number}" for number in range(5)]
    pages = [path for method, path, at in fake_twilio.requests if "Conferences.json" in path]
    assert len(pages) == 3


def test_the_conferences_list_filters_by_creation_date(client, fake_twilio):
    customer_in_conference(fake_twilio)
    today = client.conferences.list()[0].date_created.date()

    assert len(client.conferences.list(date_created_after=today)) == 1
    assert client.conferences.list(date_created=today.replace(year=today.year - 1)) == []


def test_ending_a_conference_makes_everyone_leave_then_ends_it(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    agent = answered_agent(client, fake_twilio)
    sid = client.conferences.list()[0].sid

    conference = client.conferences(sid).update(status="completed")

    assert (conference.status, conference.reason_conference_ended) == (
        "completed",
        "conference-ended-via-api",
    )
    leaves = conference_callbacks(fake_twilio, "participant-leave")
    assert [leave["CallSid"] for leave in leaves] == [customer, agent]
    assert {leave["ReasonParticipantLeft"] for leave in leaves} == {"conference_ended_via_api"}
    assert conference_events(fake_twilio)[-1] == "conference-end"
    (end,) = conference_callbacks(fake_twilio, "conference-end")
    assert end["ReasonConferenceEnded"] == "conference-ended-via-api"
    assert client.calls(agent).fetch().status == "completed"


def test_updating_a_conference_that_has_ended_answers_400(client, fake_twilio):
    customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid
    client.conferences(sid).update(status="completed")

    with pytest.raises(TwilioRestException) as refused:
        client.conferences(sid).update(status="completed")

    assert refused.value.status == 400


def test_fetching_an_unknown_conference_answers_404(client, fake_twilio):
    with pytest.raises(TwilioRestException) as refused:
        client.conferences(random_sid("CF")).fetch()

    assert (refused.value.status, refused.value.code) == (404, 20404)


# Participants


def test_adding_a_participant_by_name_makes_the_conference_and_dials_the_call(client, fake_twilio):
    participant = client.conferences("sales 7").participants.create(
        from_=CUSTOMER_LINE, to=AGENT, label="agent", early_media=True, timeout=20
    )

    assert re.fullmatch(r"CA[0-9a-f]{32}", participant.call_sid)
    assert (participant.label, participant.status, participant.hold) == ("agent", "queued", False)
    (conference,) = client.conferences.list(friendly_name="sales 7")
    assert (participant.conference_sid, conference.status) == (conference.sid, "init")
    call = client.calls(participant.call_sid).fetch()
    assert (call.direction, call._from, call.to, call.status) == (
        "outbound-api",
        CUSTOMER_LINE,
        AGENT,
        "queued",
    )


def test_a_participant_calls_status_callbacks_are_the_ones_asked_for(client, fake_twilio):
    participant = agent_added(
        client,
        "sales 7",
        status_callback=PROGRESS,
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    fake_twilio.conferences.ring(participant.call_sid)
    fake_twilio.conferences.answer(participant.call_sid)
    fake_twilio.conferences.hang_up(participant.call_sid)

    sent = [c.parameters for c in fake_twilio.conferences.callbacks if c.url == PROGRESS]
    assert [(p["CallStatus"], p["SequenceNumber"]) for p in sent] == [
        ("initiated", "0"),
        ("ringing", "1"),
        ("in-progress", "2"),
        ("completed", "3"),
    ]
    assert sent[0]["Direction"] == "outbound-api"
    assert (sent[0]["From"], sent[0]["To"]) == (CUSTOMER_LINE, AGENT)
    assert sent[-1]["CallbackSource"] == "call-progress-events"
    assert "CallDuration" in sent[-1]


def test_a_participant_call_sends_only_completed_unless_asked(client, fake_twilio):
    participant = agent_added(client, "sales 7", status_callback=PROGRESS)
    fake_twilio.conferences.answer(participant.call_sid)
    fake_twilio.conferences.hang_up(participant.call_sid)

    sent = [c.parameters["CallStatus"] for c in fake_twilio.conferences.callbacks]
    assert sent == ["completed"]


def test_a_joined_calls_end_is_reported_where_its_status_callback_goes(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    fake_twilio.conferences.report_call_status(customer, PROGRESS)

    client.conferences(client.conferences.list()[0].sid).update(status="completed")

    (completed,) = [c.parameters for c in fake_twilio.conferences.callbacks if c.url == PROGRESS]
    assert (completed["CallSid"], completed["CallStatus"]) == (customer, "completed")
    assert completed["Direction"] == "inbound"


def test_the_first_participant_sets_the_conferences_callback_and_events(client, fake_twilio):
    customer_in_conference(fake_twilio, status_callback_event="join")
    agent_added(
        client,
        conference_status_callback="https://elsewhere.example.com/",
        conference_status_callback_event=["leave"],
    )
    fake_twilio.conferences.join(random_sid("CA"), "support-1", status_callback_event="leave")

    assert {callback.url for callback in fake_twilio.conferences.callbacks} == {HUB}
    assert conference_events(fake_twilio) == ["participant-join", "participant-join"]


def test_a_conference_waits_for_a_participant_that_starts_it(client, fake_twilio):
    customer_in_conference(fake_twilio)
    fake_twilio.conferences.join(random_sid("CA"), "support-1", start_conference_on_enter=False)
    assert client.conferences.list()[0].status == "init"

    answered_agent(client, fake_twilio)

    assert client.conferences.list()[0].status == "in-progress"
    assert conference_events(fake_twilio)[-2:] == ["participant-join", "conference-start"]


def test_the_participants_list_holds_live_participants_only(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    agent = answered_agent(client, fake_twilio)
    ringing = agent_added(client, to="client:bob", label="consult").call_sid

    fake_twilio.conferences.hang_up(agent)

    listed = client.conferences("support-1").participants.list()
    assert [p.call_sid for p in listed] == [customer, ringing]
    assert [p.status for p in listed] == ["connected", "queued"]


def test_a_participant_is_found_by_its_label(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid

    assert client.conferences(sid).participants("customer").fetch().call_sid == customer


def test_an_unknown_participant_answers_404(client, fake_twilio):
    customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid

    with pytest.raises(TwilioRestException) as refused:
        client.conferences(sid).participants(random_sid("CA")).update(hold=True)

    assert (refused.value.status, refused.value.code) == (404, 20404)


def test_holding_and_unholding_send_their_events(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid

    held = (
        client.conferences(sid)
        .participants(customer)
        .update(hold=True, hold_url="https://hub.example.com/hold-music/", hold_method="GET")
    )
    client.conferences(sid).participants(customer).update(hold=False)

    assert held.hold is True
    hold, unhold = conference_events(fake_twilio)[-2:]
    assert (hold, unhold) == ("participant-hold", "participant-unhold")
    assert conference_callbacks(fake_twilio, "participant-hold")[0]["Hold"] == "true"
    assert conference_callbacks(fake_twilio, "participant-unhold")[0]["Hold"] == "false"


def test_muting_sends_participant_mute(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid

    client.conferences(sid).participants(customer).update(muted=True)

    (mute,) = conference_callbacks(fake_twilio, "participant-mute")
    assert (mute["CallSid"], mute["Muted"], mute["ParticipantLabel"]) == (
        customer,
        "true",
        "customer",
    )


def test_an_update_that_changes_nothing_sends_no_event(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid
    before = len(fake_twilio.conferences.callbacks)

    client.conferences(sid).participants(customer).update(hold=False, muted=False)

    assert len(fake_twilio.conferences.callbacks) == before


def test_a_supervisor_whispering_then_barging_sends_participant_modify(client, fake_twilio):
    customer_in_conference(fake_twilio)
    agent = answered_agent(client, fake_twilio)
    supervisor = client.conferences("support-1").participants.create(
        from_=CUSTOMER_LINE, to="client:sam", muted=True
    )
    fake_twilio.conferences.answer(supervisor.call_sid)
    sid = supervisor.conference_sid

    whispering = (
        client.conferences(sid)
        .participants(supervisor.call_sid)
        .update(coaching=True, call_sid_to_coach=agent, muted=False)
    )
    barging = client.conferences(sid).participants(supervisor.call_sid).update(coaching=False)

    assert (whispering.coaching, whispering.call_sid_to_coach) == (True, agent)
    assert (barging.coaching, barging.call_sid_to_coach) == (False, None)
    modified = conference_callbacks(fake_twilio, "participant-modify")
    assert [event["Coaching"] for event in modified] == ["true", "false"]


def test_coaching_without_a_call_to_coach_answers_400(client, fake_twilio):
    customer_in_conference(fake_twilio)

    with pytest.raises(TwilioRestException) as refused:
        agent_added(client, coaching=True)

    assert refused.value.status == 400


def test_coaching_a_call_that_is_not_in_the_conference_answers_400(client, fake_twilio):
    customer_in_conference(fake_twilio)

    with pytest.raises(TwilioRestException) as refused:
        agent_added(client, coaching=True, call_sid_to_coach=random_sid("CA"))

    assert refused.value.status == 400


def test_a_label_already_in_the_conference_answers_400(client, fake_twilio):
    customer_in_conference(fake_twilio)

    with pytest.raises(TwilioRestException) as refused:
        agent_added(client, to="client:bob", label="customer")

    assert refused.value.status == 400


def test_adding_a_participant_without_to_answers_21604(client, fake_twilio):
    with pytest.raises(TwilioRestException) as refused:
        client.conferences("support-1").participants.create(from_=CUSTOMER_LINE, to="")

    assert (refused.value.status, refused.value.code) == (400, 21604)
    assert client.conferences.list() == []


def test_adding_to_a_conference_that_has_ended_answers_400(client, fake_twilio):
    customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid
    client.conferences(sid).update(status="completed")

    with pytest.raises(TwilioRestException) as refused:
        agent_added(client, sid)

    assert refused.value.status == 400


def test_a_name_whose_conference_ended_makes_a_new_one(client, fake_twilio):
    customer_in_conference(fake_twilio)
    ended = client.conferences.list()[0].sid
    client.conferences(ended).update(status="completed")

    participant = agent_added(client)

    assert participant.conference_sid != ended
    assert fake_twilio.conferences.named("support-1")["sid"] == participant.conference_sid


def test_removing_the_last_participant_ends_its_call_and_the_conference(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    sid = client.conferences.list()[0].sid

    assert client.conferences(sid).participants(customer).delete() is True

    assert client.calls(customer).fetch().status == "completed"
    conference = client.conferences(sid).fetch()
    assert (conference.status, conference.reason_conference_ended) == (
        "completed",
        "last-participant-kicked",
    )
    assert conference.call_sid_ending_conference == customer


def test_removing_a_participant_leaves_the_others_talking(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    agent = answered_agent(client, fake_twilio)
    sid = client.conferences.list()[0].sid

    client.conferences(sid).participants(agent).delete()

    (leave,) = conference_callbacks(fake_twilio, "participant-leave")
    assert (leave["CallSid"], leave["ReasonParticipantLeft"]) == (
        agent,
        "participant_updated_via_api",
    )
    assert [p.call_sid for p in client.conferences(sid).participants.list()] == [customer]
    assert client.conferences(sid).fetch().status == "in-progress"


def test_a_participant_that_ends_the_conference_on_exit_hanging_up_ends_it(client, fake_twilio):
    customer = customer_in_conference(fake_twilio, end_conference_on_exit=True)
    agent = answered_agent(client, fake_twilio)

    fake_twilio.conferences.hang_up(customer)

    customer_leave, agent_leave = conference_callbacks(fake_twilio, "participant-leave")
    assert customer_leave["ReasonParticipantLeft"] == "participant_hung_up"
    assert customer_leave["ParticipantCallStatus"] == "completed"
    assert agent_leave["CallSid"] == agent
    assert agent_leave["ReasonParticipantLeft"] == "moderator_ended_conference"
    (end,) = conference_callbacks(fake_twilio, "conference-end")
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == customer
    assert end["ParticipantLabelEndingConference"] == "customer"
    assert client.calls(agent).fetch().status == "completed"


def test_the_last_participant_hanging_up_ends_the_conference(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    agent = answered_agent(client, fake_twilio)

    fake_twilio.conferences.hang_up(agent)
    fake_twilio.conferences.hang_up(customer)

    assert conference_events(fake_twilio)[-2:] == ["participant-leave", "conference-end"]
    (end,) = conference_callbacks(fake_twilio, "conference-end")
    assert (end["ReasonConferenceEnded"], end["CallSidEndingConference"]) == (
        "last-participant-left",
        customer,
    )


def test_a_participant_nobody_answers_leaves_as_add_failed(client, fake_twilio):
    customer_in_conference(fake_twilio)
    participant = agent_added(client)

    fake_twilio.conferences.not_answer(participant.call_sid, "busy")

    (leave,) = conference_callbacks(fake_twilio, "participant-leave")
    assert (leave["ReasonParticipantLeft"], leave["ParticipantCallStatus"]) == (
        "participant_add_failed",
        "busy",
    )
    assert client.calls(participant.call_sid).fetch().status == "busy"
    assert client.conferences.list()[0].status == "init"


def test_canceling_a_ringing_participant_call_removes_the_participant(client, fake_twilio):
    customer_in_conference(fake_twilio)
    participant = agent_added(client)
    fake_twilio.conferences.ring(participant.call_sid)

    client.calls(participant.call_sid).update(status="canceled")

    (leave,) = conference_callbacks(fake_twilio, "participant-leave")
    assert leave["ParticipantCallStatus"] == "canceled"
    assert len(client.conferences("support-1").participants.list()) == 1


# The callbacks themselves


def test_conference_callbacks_carry_twilios_parameters(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)

    (join,) = conference_callbacks(fake_twilio, "participant-join")

    conference = client.conferences.list()[0]
    assert join == {
        "AccountSid": fake_twilio.account_sid,
        "ConferenceSid": conference.sid,
        "FriendlyName": "support-1",
        "StatusCallbackEvent": "participant-join",
        "SequenceNumber": "1",
        "Timestamp": join["Timestamp"],
        "CallSid": customer,
        "ParticipantLabel": "customer",
        "Muted": "false",
        "Hold": "false",
        "Coaching": "false",
        "EndConferenceOnExit": "false",
        "StartConferenceOnEnter": "false",
    }
    assert parsedate_to_datetime(join["Timestamp"]).utcoffset().total_seconds() == 0


def test_conference_sequence_numbers_increase_with_each_callback(client, fake_twilio):
    customer = customer_in_conference(fake_twilio)
    answered_agent(client, fake_twilio)
    fake_twilio.conferences.hang_up(customer)

    numbers = [
        int(callback.parameters["SequenceNumber"])
        for callback in fake_twilio.conferences.callbacks
        if callback.url == HUB
    ]
    assert numbers == list(range(1, len(numbers) + 1))


def test_events_the_conference_did_not_ask_for_are_not_sent(client, fake_twilio):
    customer = customer_in_conference(fake_twilio, status_callback_event="end")
    answered_agent(client, fake_twilio)
    sid = client.conferences.list()[0].sid
    client.conferences(sid).participants(customer).update(hold=True)

    client.conferences(sid).update(status="completed")

    assert conference_events(fake_twilio) == ["conference-end"]


def test_callbacks_are_signed_as_twilio_signs_them(client, fake_twilio):
    customer_in_conference(fake_twilio)
    validator = RequestValidator(TEST_AUTH_TOKEN)

    (callback,) = fake_twilio.conferences.callbacks

    assert validator.validate(callback.url, callback.parameters, callback.signature)


class _Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint that keeps what it was sent."""

    received: list[tuple[str, dict[str, str], str]]

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        self.received.append((self.path, form, self.headers["X-Twilio-Signature"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def receiver():
    class Handler(_Receiver):
        received = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/twilio/conference/", Handler.received
    server.shutdown()
    server.server_close()


def test_pending_callbacks_are_posted_once_in_order_and_signed(client, fake_twilio, receiver):
    url, received = receiver
    call_sid = random_sid("CA")
    fake_twilio.conferences.join(
        call_sid, "room", status_callback=url, status_callback_event="join end"
    )
    first = fake_twilio.conferences.deliver_pending()
    fake_twilio.conferences.hang_up(call_sid)

    second = fake_twilio.conferences.deliver_pending()

    assert [response.status_code for response in first + second] == [204, 204]
    assert [form["StatusCallbackEvent"] for path, form, signature in received] == [
        "participant-join",
        "conference-end",
    ]
    validator = RequestValidator(TEST_AUTH_TOKEN)
    assert all(validator.validate(url, form, signature) for path, form, signature in received)


def test_callbacks_can_reach_the_server_through_a_proxy_signed_for_twilios_url(
    client, fake_twilio, receiver
):
    url, received = receiver
    customer_in_conference(fake_twilio)

    fake_twilio.conferences.deliver_pending(origin=url.removesuffix("/twilio/conference/"))

    ((path, form, signature),) = received
    assert path == "/twilio/conference/"
    assert RequestValidator(TEST_AUTH_TOKEN).validate(HUB, form, signature)
