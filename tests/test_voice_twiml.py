"""The TwiML our Voice URL answers, read back as XML."""

import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from calls.models import Call, CallEvent
from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import AgentFactory, PhoneNumberFactory
from tests.twilio_requests import post_signed, twilio_signature
from twilio_fakes.scenarios import CallPlan, agent_to_pstn, pstn_to_agents

pytestmark = pytest.mark.django_db

SUPPORT_LINE = "+14155550100"
CUSTOMER = "+12125550123"
STATUS_URL = "http://testserver/twilio/status/"
DIAL_ACTION_URL = "http://testserver/twilio/dial/"
PLAN = CallPlan(
    account_sid=TEST_ACCOUNT_SID,
    application_sid="AP" + "d" * 32,
    started_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def softphone_form(identity: str, dialled: str) -> dict[str, str]:
    """What Twilio posts when an agent's softphone calls `dialled`."""
    deliveries = agent_to_pstn(
        PLAN, random.Random(), identity=identity, caller_id=SUPPORT_LINE, destination=dialled
    )
    return deliveries[0].parameters


def phone_form(number: str) -> dict[str, str]:
    """What Twilio posts when a phone calls one of our numbers."""
    deliveries = pstn_to_agents(
        PLAN, random.Random(), caller=CUSTOMER, number=number, identities=["anyone"]
    )
    return deliveries[0].parameters


def answer(client, form) -> ET.Element:
    response = post_signed(client, "/twilio/voice/", form)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def assert_spoken_and_hung_up(document: ET.Element, message: str):
    assert [element.tag for element in document] == ["Say", "Hangup"]
    assert message in document.find("Say").text


def rung_identities(dial: ET.Element) -> list[str]:
    assert {noun.tag for noun in dial} == {"Client"}
    return [noun.find("Identity").text for noun in dial]


def assert_reports_every_step(noun: ET.Element):
    assert noun.attrib == {
        "statusCallback": STATUS_URL,
        "statusCallbackEvent": "initiated ringing answered completed",
        "statusCallbackMethod": "POST",
    }


def test_agent_dialling_a_number_calls_it_from_the_agents_caller_id(client):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    document = answer(client, softphone_form("alice", CUSTOMER))
    (dial,) = document
    assert (dial.tag, dial.attrib) == (
        "Dial",
        {
            "callerId": SUPPORT_LINE,
            "answerOnBridge": "true",
            "timeout": "20",
            "action": DIAL_ACTION_URL + "?offered=",
            "method": "POST",
        },
    )
    (number,) = dial
    assert (number.tag, number.text) == ("Number", CUSTOMER)
    assert_reports_every_step(number)


@pytest.mark.parametrize("dialled", ["bob", "client:bob"])
def test_agent_dialling_an_agent_rings_that_client(client, dialled):
    AgentFactory(identity="alice")
    AgentFactory(identity="bob", availability="available")
    (dial,) = answer(client, softphone_form("alice", dialled))
    assert dial.attrib["callerId"] == "client:alice"
    assert rung_identities(dial) == ["bob"]
    assert_reports_every_step(dial[0])


def test_dial_rings_for_the_configured_timeout(client, settings):
    settings.TWILIO_DIAL_TIMEOUT = 35
    AgentFactory(identity="alice")
    (dial,) = answer(client, softphone_form("alice", CUSTOMER))
    assert dial.attrib["timeout"] == "35"


def test_status_callbacks_point_at_the_public_base_url(client, settings):
    settings.TWILIO_WEBHOOK_BASE_URL = "https://voice.example.com"
    AgentFactory(identity="alice")
    form = softphone_form("alice", CUSTOMER)
    signature = twilio_signature("https://voice.example.com/twilio/voice/", form)
    response = client.post("/twilio/voice/", form, headers={"X-Twilio-Signature": signature})
    (number,) = ET.fromstring(response.content).find("Dial")
    assert number.attrib["statusCallback"] == "https://voice.example.com/twilio/status/"


@pytest.mark.parametrize(
    ("caller", "message"),
    [
        ({"identity": "alice", "is_active": False}, "not allowed to place calls"),
        ({"identity": "carol"}, "not allowed to place calls"),
        ({"identity": "alice", "caller_id": ""}, "no caller ID"),
    ],
)
def test_caller_who_may_not_dial_a_number_hears_why(client, caller, message):
    AgentFactory(**caller)
    assert_spoken_and_hung_up(answer(client, softphone_form("alice", CUSTOMER)), message)


@pytest.mark.parametrize("dialled", ["", "client:", "not a number!", "+1"])
def test_missing_or_invalid_destination_is_explained(client, dialled):
    AgentFactory(identity="alice")
    document = answer(client, softphone_form("alice", dialled))
    assert_spoken_and_hung_up(document, "not a phone number or an agent's name")


def softphone_form_with(identity: str, **parameters: str) -> dict[str, str]:
    """The Voice URL request of a softphone whose app passed `parameters` to connect()."""
    return softphone_form(identity, "") | parameters


def dialled_number(document: ET.Element) -> str:
    (dial,) = document
    (number,) = dial
    assert number.tag == "Number"
    return number.text


@pytest.mark.parametrize(
    ("dialled", "number"),
    [
        ("919326002507", "+919326002507"),
        ("(910) 755-5577", "+19107555577"),
        ("905-553-6523", "+19055536523"),
        ("+1 212 555 0123", "+12125550123"),
        ("1 212 555 0123", "+12125550123"),
        ("011 44 20 7946 0958", "+442079460958"),
    ],
)
def test_numbers_as_mobile_apps_send_them_are_dialled_in_e164(client, dialled, number):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    assert dialled_number(answer(client, softphone_form("alice", dialled))) == number


def test_national_numbers_are_read_in_the_default_phone_region(client, settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    document = answer(client, softphone_form("alice", "020 7946 0958"))
    assert dialled_number(document) == "+442079460958"


def test_the_leg_and_its_family_keep_the_number_dialled_in_e164(client):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    form = softphone_form("alice", "919326002507")
    answer(client, form)
    call = Call.objects.get()
    assert (call.to_number, call.kind) == ("+919326002507", "outbound")
    assert call.events.get().parameters["To"] == "919326002507"


def test_digits_that_name_an_agent_ring_that_agent(client):
    AgentFactory(identity="alice")
    AgentFactory(identity="9193260025", availability="available")
    (dial,) = answer(client, softphone_form("alice", "9193260025"))
    assert rung_identities(dial) == ["9193260025"]


@pytest.mark.parametrize("name", ["to", "phoneNumber", "PhoneNumber", "phone"])
def test_an_app_may_send_the_number_in_a_parameter_of_its_own(client, name):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    form = softphone_form_with("alice", **{name: "(212) 555-0123"})
    assert form["To"] == ""
    assert dialled_number(answer(client, form)) == "+12125550123"
    assert Call.objects.get().to_number == "+12125550123"


def test_an_app_may_send_an_agent_in_a_parameter_of_its_own(client):
    AgentFactory(identity="alice")
    AgentFactory(identity="bob", availability="available")
    (dial,) = answer(client, softphone_form_with("alice", to="bob"))
    assert rung_identities(dial) == ["bob"]


def test_to_wins_over_an_apps_own_parameter(client):
    AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    form = softphone_form_with("alice", To=CUSTOMER, to="+14155550177")
    assert dialled_number(answer(client, form)) == CUSTOMER


@pytest.mark.parametrize("callee", [{"is_active": False}, {"identity": "carol"}])
def test_agent_who_left_or_never_was_is_explained(client, callee):
    AgentFactory(identity="alice")
    AgentFactory(**{"identity": "bob", "availability": "available", **callee})
    document = answer(client, softphone_form("alice", "bob"))
    assert_spoken_and_hung_up(document, "cannot take your call")


def assert_sent_to_the_unanswered_policy(document: ET.Element):
    (redirect,) = document
    assert (redirect.tag, redirect.text) == ("Redirect", DIAL_ACTION_URL + "?offered=")
    assert redirect.attrib == {"method": "POST"}


@pytest.mark.parametrize("callee", [{"incoming_allowed": False}, {"availability": "away"}])
def test_agent_who_cannot_take_the_call_sends_the_caller_to_their_policy(client, callee):
    AgentFactory(identity="alice")
    AgentFactory(**{"identity": "bob", "availability": "available", **callee})
    assert_sent_to_the_unanswered_policy(answer(client, softphone_form("alice", "bob")))


def test_call_to_our_number_rings_its_available_agents_at_once(client):
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    line.agents.add(
        AgentFactory(identity="bob", availability="available"),
        AgentFactory(identity="alice", availability="available"),
        AgentFactory(identity="inactive", is_active=False, availability="available"),
        AgentFactory(identity="mute", incoming_allowed=False, availability="available"),
    )
    AgentFactory(identity="elsewhere", availability="available")
    (dial,) = answer(client, phone_form(SUPPORT_LINE))
    action = dial.attrib.pop("action")
    assert dial.attrib == {"answerOnBridge": "true", "timeout": "20", "method": "POST"}
    assert sorted(rung_identities(dial)) == ["alice", "bob"]
    # The action carries who was rung, for the missed-call record.
    assert action == DIAL_ACTION_URL + "?offered=" + "%2C".join(rung_identities(dial))
    for noun in dial:
        assert_reports_every_step(noun)


def test_dial_never_holds_more_than_ten_clients(client):
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    line.agents.add(*AgentFactory.create_batch(12, availability="available"))
    (dial,) = answer(client, phone_form(SUPPORT_LINE))
    assert len(dial) == 10


def test_call_to_our_number_with_nobody_available_goes_to_its_policy(client):
    PhoneNumberFactory(number=SUPPORT_LINE)
    assert_sent_to_the_unanswered_policy(answer(client, phone_form(SUPPORT_LINE)))


def test_call_to_an_unknown_number_is_told_so(client):
    assert_spoken_and_hung_up(answer(client, phone_form("+14155550177")), "not in service")


def test_voice_request_records_the_parent_leg(client):
    alice = AgentFactory(identity="alice")
    form = softphone_form("alice", CUSTOMER)
    answer(client, form)
    call = Call.objects.get()
    assert (call.sid, call.parent, call.direction, call.status, call.agent) == (
        form["CallSid"],
        None,
        "inbound",
        "ringing",
        alice,
    )
    assert (call.from_number, call.to_number) == ("client:alice", CUSTOMER)
    assert call.events.get().parameters == form


def test_fallback_apologises_and_stores_twilios_error(client):
    form = {
        **phone_form(SUPPORT_LINE),
        "ErrorCode": "11200",
        "ErrorUrl": "https://voice.example.com/twilio/voice/",
    }
    response = post_signed(client, "/twilio/voice/fallback/", form)
    assert response.status_code == 200
    document = ET.fromstring(response.content)
    assert_spoken_and_hung_up(document, "We're sorry. An error has occurred.")
    call = Call.objects.get()
    assert (call.error_code, call.error_url) == (11200, "https://voice.example.com/twilio/voice/")
    assert CallEvent.objects.count() == 1
