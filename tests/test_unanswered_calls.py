"""What a caller hears when nobody answers, and what the parent leg keeps of it: our <Dial>
action webhook and the unanswered-call policies (voicemail, forward, message)."""

import random
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from calls.models import Call, CallEvent
from tests.factories import AgentFactory, PhoneNumberFactory, UserFactory, random_sid
from tests.test_voice_twiml import CUSTOMER, PLAN, SUPPORT_LINE, phone_form, softphone_form
from tests.twilio_requests import post_signed
from twilio_fakes.scenarios import agent_to_agent

pytestmark = pytest.mark.django_db

OTHER_OFFICE = "+442079460000"
DIAL_ACTION = "http://testserver/twilio/dial/"
RECORDING_CALLBACK = "http://testserver/twilio/recording/"


def phone_call() -> dict[str, str]:
    """The parent leg's fields, as Twilio repeats them in the <Dial> action request."""
    return phone_form(SUPPORT_LINE)


def agent_call(callee: str = "bob") -> dict[str, str]:
    return agent_to_agent(PLAN, random.Random(), identity="alice", callee_identity=callee)[
        0
    ].parameters


def dial_action(
    parent: dict[str, str], status: str | None, client, *, query: dict[str, str] | None = None
):
    """Twilio requesting our <Dial> action; status None is our redirect with nobody rung."""
    form = dict(parent)
    if status is not None:
        form |= {
            "DialCallStatus": status,
            "DialCallSid": random_sid("CA"),
            "DialCallDuration": "0",
            "DialBridged": "false",
        }
    path = "/twilio/dial/?" + urlencode(query if query is not None else {"offered": "alice"})
    return post_signed(client, path, form)


def twiml(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def tags(document: ET.Element) -> list[str]:
    return [element.tag for element in document]


@pytest.fixture
def support_line():
    return PhoneNumberFactory(number=SUPPORT_LINE)


@pytest.mark.parametrize("status", ["completed", "answered", "canceled"])
def test_an_answered_call_ends_when_the_agent_hangs_up(client, support_line, status):
    assert tags(twiml(dial_action(phone_call(), status, client))) == ["Hangup"]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", None])
def test_a_call_nobody_answers_goes_to_voicemail_by_default(client, support_line, status):
    document = twiml(dial_action(phone_call(), status, client))
    assert tags(document) == ["Say", "Record"]
    assert "leave a message after the tone" in document[0].text
    assert document[1].attrib == {
        "maxLength": "120",
        "playBeep": "true",
        "recordingStatusCallback": f"{RECORDING_CALLBACK}?number={support_line.pk}",
        "recordingStatusCallbackEvent": "in-progress completed absent",
        "recordingStatusCallbackMethod": "POST",
        "action": "http://testserver/twilio/voicemail/done/",
        "method": "POST",
    }


def test_a_numbers_own_greeting_is_spoken_before_the_beep(client, settings):
    settings.VOICEMAIL_MAX_LENGTH = 60
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_greeting="Acme support: <leave> a message")
    document = twiml(dial_action(phone_call(), "no-answer", client))
    assert document[0].text == "Acme support: <leave> a message"
    assert document[1].attrib["maxLength"] == "60"


def test_an_agent_nobody_answered_takes_voicemail_in_their_name(client):
    AgentFactory(identity="alice")
    bob = AgentFactory(identity="bob", user=UserFactory(first_name="Bob", last_name="Stone"))
    document = twiml(dial_action(agent_call(), "no-answer", client, query={"offered": "bob"}))
    assert document[0].text.startswith("Bob Stone cannot take your call")
    assert document[1].attrib["recordingStatusCallback"] == f"{RECORDING_CALLBACK}?agent={bob.pk}"


def test_an_agent_dialled_in_an_apps_own_parameter_takes_voicemail_in_their_name(client):
    AgentFactory(identity="alice")
    bob = AgentFactory(identity="bob")
    parent = agent_call() | {"To": "", "to": "bob"}
    document = twiml(dial_action(parent, "no-answer", client, query={"offered": "bob"}))
    assert document[1].attrib["recordingStatusCallback"] == f"{RECORDING_CALLBACK}?agent={bob.pk}"


def test_the_message_policy_speaks_and_hangs_up(client):
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_policy="message")
    document = twiml(dial_action(phone_call(), "busy", client))
    assert tags(document) == ["Say", "Hangup"]
    assert "Nobody is available" in document[0].text


def test_the_forward_policy_dials_the_number_with_the_same_action(client):
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_policy="forward", forward_to=OTHER_OFFICE)
    (dial,) = twiml(dial_action(phone_call(), "no-answer", client))
    assert dial.attrib["callerId"] == SUPPORT_LINE
    assert dial.attrib["action"] == DIAL_ACTION + "?offered=alice&forwarded=1"
    assert [(noun.tag, noun.text) for noun in dial] == [("Number", OTHER_OFFICE)]


def test_a_forward_nobody_answers_goes_to_voicemail_never_forwards_again(client):
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_policy="forward", forward_to=OTHER_OFFICE)
    query = {"offered": "alice", "forwarded": "1"}
    assert tags(twiml(dial_action(phone_call(), "no-answer", client, query=query))) == [
        "Say",
        "Record",
    ]


def test_forwarding_to_one_of_our_own_numbers_would_loop_so_takes_voicemail(client):
    PhoneNumberFactory(number=OTHER_OFFICE)
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_policy="forward", forward_to=OTHER_OFFICE)
    assert tags(twiml(dial_action(phone_call(), "no-answer", client))) == ["Say", "Record"]


def test_forwarding_the_caller_to_themselves_takes_voicemail(client):
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_policy="forward", forward_to=CUSTOMER)
    assert tags(twiml(dial_action(phone_call(), "no-answer", client))) == ["Say", "Record"]


def test_an_agents_unanswered_call_to_a_number_just_ends(client):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    form = softphone_form("alice", CUSTOMER)
    response = dial_action(form, "no-answer", client, query={"offered": ""})
    assert tags(twiml(response)) == ["Hangup"]
    assert Call.objects.get().unanswered is False


def test_the_parent_leg_keeps_who_was_rung_and_that_nobody_answered(client, support_line):
    parent = phone_call()
    dial_action(parent, "no-answer", client, query={"offered": "alice,bob"})
    call = Call.objects.get(sid=parent["CallSid"])
    assert (call.unanswered, call.dial_status, call.offered_to) == (
        True,
        "no-answer",
        ["alice", "bob"],
    )
    # The request is one of the leg's deliveries, raw parameters included.
    assert CallEvent.objects.get(call=call).parameters["DialCallStatus"] == "no-answer"


def test_a_call_nobody_could_be_offered_is_missed_with_nobody_rung(client, support_line):
    parent = phone_call()
    dial_action(parent, None, client, query={"offered": ""})
    call = Call.objects.get(sid=parent["CallSid"])
    assert (call.unanswered, call.dial_status, call.offered_to) == (True, "", [])


def test_an_answered_call_is_not_missed(client, support_line):
    parent = phone_call()
    dial_action(parent, "completed", client)
    call = Call.objects.get(sid=parent["CallSid"])
    assert (call.unanswered, call.dial_status, call.offered_to) == (False, "completed", ["alice"])


@pytest.mark.parametrize(
    "order",
    [
        ["unanswered", "forward answered", "unanswered"],
        ["forward answered", "unanswered"],
        ["unanswered", "forward answered", "forward answered", "unanswered"],
    ],
)
def test_a_replayed_action_never_turns_an_answered_forward_back_into_unanswered(client, order):
    PhoneNumberFactory(number=SUPPORT_LINE, unanswered_policy="forward", forward_to=OTHER_OFFICE)
    parent = phone_call()
    actions = {
        "unanswered": ({**parent, "DialCallStatus": "no-answer"}, "offered=alice"),
        "forward answered": (
            {**parent, "DialCallStatus": "completed"},
            "offered=alice&forwarded=1",
        ),
    }
    for name in order:
        form, query = actions[name]
        assert post_signed(client, f"/twilio/dial/?{query}", form).status_code == 200

    call = Call.objects.get(sid=parent["CallSid"])
    assert (call.unanswered, call.dial_status, call.offered_to) == (True, "completed", ["alice"])


def test_a_repeated_action_request_is_stored_once(client, support_line):
    parent = phone_call()
    form = {**parent, "DialCallStatus": "no-answer", "DialCallSid": random_sid("CA")}
    for _ in range(2):
        post_signed(client, "/twilio/dial/?offered=alice", form)
    assert CallEvent.objects.count() == 1
    assert Call.objects.get().offered_to == ["alice"]


def test_the_end_of_a_voicemail_thanks_the_caller_and_hangs_up(client, support_line):
    document = twiml(post_signed(client, "/twilio/voicemail/done/", phone_call()))
    assert tags(document) == ["Say", "Hangup"]
    assert "Thank you for your message" in document[0].text


@pytest.mark.parametrize(
    ("changes", "query", "reason"),
    [
        ({"DialCallStatus": "ringing"}, {}, b"DialCallStatus"),
        ({"DialCallSid": "CA123"}, {}, b"DialCallSid"),
        ({"DialCallDuration": "1.5"}, {}, b"DialCallDuration"),
        ({}, {"offered": "alice,not an identity!"}, b"offered"),
    ],
)
def test_a_malformed_action_request_is_refused_and_nothing_stored(client, changes, query, reason):
    form = {**phone_call(), "DialCallStatus": "no-answer", **changes}
    response = post_signed(
        client, "/twilio/dial/" + (f"?{urlencode(query)}" if query else ""), form
    )
    assert response.status_code == 400
    assert reason in response.content
    assert not Call.objects.exists()


def test_an_action_request_with_twilios_unknown_duration_is_taken(client, support_line):
    form = {**phone_call(), "DialCallStatus": "no-answer", "DialCallDuration": "-1"}
    document = twiml(post_signed(client, "/twilio/dial/?offered=alice", form))
    assert tags(document) == ["Say", "Record"]
    assert Call.objects.get().unanswered is True


def test_a_forged_action_request_is_refused_and_nothing_stored(client, support_line):
    form = {**phone_call(), "DialCallStatus": "no-answer"}
    response = client.post("/twilio/dial/", form, headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_database_outage_answers_503_so_twilio_retries(client, database_down):
    response = dial_action(phone_call(), "no-answer", client)
    assert response.status_code == 503


# ----- Recording policy -----


def test_without_the_hub_a_recorded_number_announces_and_records_both_channels(client, settings):
    settings.CONFERENCE_HUB = False
    line = PhoneNumberFactory(
        number=SUPPORT_LINE,
        record_calls=True,
        recording_announcement="This call is recorded.",
    )
    line.agents.add(AgentFactory(identity="alice", availability="available"))
    document = twiml(post_signed(client, "/twilio/voice/", phone_call()))
    assert tags(document) == ["Say", "Dial"]
    assert document[0].text == "This call is recorded."
    dial = document[1]
    assert {name: dial.attrib[name] for name in dial.attrib if name.startswith("record")} == {
        "record": "record-from-answer-dual",
        "recordingStatusCallback": RECORDING_CALLBACK,
        "recordingStatusCallbackEvent": "in-progress completed absent",
        "recordingStatusCallbackMethod": "POST",
    }


def test_numbers_record_nothing_by_default(client):
    line = PhoneNumberFactory(number=SUPPORT_LINE, recording_announcement="Never said")
    line.agents.add(AgentFactory(identity="alice", availability="available"))
    document = twiml(post_signed(client, "/twilio/voice/", phone_call()))
    assert tags(document) == ["Dial"]
    assert "record" not in document[0].attrib


def test_without_the_hub_an_agent_who_records_records_her_outgoing_calls(client, settings):
    settings.CONFERENCE_HUB = False
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE, record_calls=True)
    form = softphone_form("alice", CUSTOMER)
    (dial,) = twiml(post_signed(client, "/twilio/voice/", form))
    assert dial.attrib["record"] == "record-from-answer-dual"


def test_a_supervisor_sets_an_agents_policy_in_the_admin_and_forward_needs_a_number(client):
    agent = AgentFactory(identity="bob")
    PhoneNumberFactory(number=agent.caller_id)  # a caller ID must be one of our numbers
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {
        "identity": "bob",
        "twiml_app": agent.twiml_app_id,
        "caller_id": agent.caller_id,
        "incoming_allowed": "on",
        "is_active": "on",
        "login_enabled": "on",
        "unanswered_policy": "forward",
        "unanswered_greeting": "",
        "forward_to": "",
        "recording_announcement": "",
    }
    response = client.post(f"/admin/agents/agent/{agent.pk}/change/", form)
    assert b"The forward policy needs a number to forward to." in response.content
    response = client.post(
        f"/admin/agents/agent/{agent.pk}/change/", form | {"forward_to": OTHER_OFFICE}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.unanswered_policy, agent.forward_to) == ("forward", OTHER_OFFICE)
