"""A number's spoken menu: the <Gather> the Voice URL answers, and every path of its action
webhook (/twilio/menu/), signed as Twilio signs it."""

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from calls.models import CallEvent
from inbound.models import Menu
from tests.factories import (
    AgentFactory,
    MenuFactory,
    MenuOptionFactory,
    NumberHoursFactory,
    PhoneNumberFactory,
    ScheduleFactory,
    UserFactory,
)
from tests.test_unanswered_calls import tags
from tests.test_voice_twiml import CUSTOMER, SUPPORT_LINE, answer, phone_form, rung_identities
from tests.twilio_requests import post_signed
from voiceproject.roles import SUPERVISORS

pytestmark = pytest.mark.django_db

MENU_URL = "http://testserver/twilio/menu/"
OTHER_OFFICE = "+442079460000"


@pytest.fixture
def line():
    """SUPPORT_LINE, ringing alice and bob (both available), with a menu."""
    number = PhoneNumberFactory(number=SUPPORT_LINE, friendly_name="Support")
    number.agents.add(
        AgentFactory(identity="alice", availability="available"),
        AgentFactory(identity="bob", availability="available"),
    )
    MenuFactory(phone_number=number, repeats=2, timeout=7)
    return number


def option(line, key: str, action: str, **fields):
    return MenuOptionFactory(menu=line.menu, key=key, action=action, **fields)


def menu_answer(client, menu: Menu, *, attempt: int = 1, **fields: str):
    """Twilio requesting the menu's <Gather> action with what the caller pressed or said."""
    path = "/twilio/menu/?" + urlencode({"menu": menu.pk, "attempt": attempt})
    return post_signed(client, path, phone_form(SUPPORT_LINE) | fields)


def twiml(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def gather_action(menu: Menu, attempt: int) -> str:
    return f"{MENU_URL}?{urlencode({'menu': menu.pk, 'attempt': attempt})}"


# What the Voice URL answers for a number with a menu.


def test_a_call_to_a_number_with_a_menu_hears_it_inside_a_gather(client, line):
    option(line, "1", "ring")

    (gather,) = answer(client, phone_form(SUPPORT_LINE))

    assert (gather.tag, gather.attrib) == (
        "Gather",
        {
            "input": "dtmf",
            "numDigits": "1",
            "timeout": "7",
            "finishOnKey": "",
            "actionOnEmptyResult": "true",
            "action": gather_action(line.menu, 1),
            "method": "POST",
        },
    )
    (say,) = gather
    assert (say.tag, say.text) == ("Say", "For sales press 1. For support press 2.")


def test_speech_is_asked_for_only_when_an_option_has_a_keyword(client, line):
    option(line, "1", "ring", speech="sales")
    option(line, "2", "voicemail", speech="leave a message")

    (gather,) = answer(client, phone_form(SUPPORT_LINE))

    assert gather.attrib["input"] == "dtmf speech"
    assert gather.attrib["hints"] == "sales, leave a message"


def test_a_closed_number_answers_with_its_closed_action_not_its_menu(client, line):
    NumberHoursFactory(phone_number=line, schedule=ScheduleFactory())  # no intervals: closed

    assert tags(answer(client, phone_form(SUPPORT_LINE))) == ["Say", "Hangup"]


# Each action of an option.


def test_ringing_the_numbers_agents_is_what_the_voice_url_answers_without_a_menu(client, line):
    option(line, "1", "ring")

    from_the_menu = menu_answer(client, line.menu, Digits="1").content
    line.menu.delete()
    without_a_menu = post_signed(client, "/twilio/voice/", phone_form(SUPPORT_LINE)).content

    assert from_the_menu == without_a_menu
    assert rung_identities(ET.fromstring(from_the_menu).find("Dial")) == ["alice", "bob"]


def test_an_agent_option_rings_that_agent_as_the_number_would(client, line):
    bob = line.agents.get(identity="bob")
    option(line, "2", "agent", agent=bob)

    (dial,) = twiml(menu_answer(client, line.menu, Digits="2"))

    assert dial.attrib["action"] == "http://testserver/twilio/dial/?offered=bob"
    assert rung_identities(dial) == ["bob"]
    client_noun = dial.find("Client")
    parameters = {p.attrib["name"]: p.attrib["value"] for p in client_noun.iter("Parameter")}
    assert parameters == {
        "caller_number": CUSTOMER,
        "called_number": SUPPORT_LINE,
        "called_name": "Support",
    }


def test_a_queue_option_sends_the_caller_to_wait_in_that_queue(client, line):
    from tests.factories import QueueFactory

    queue = QueueFactory()
    option(line, "3", "queue", queue=queue)

    (redirect,) = twiml(menu_answer(client, line.menu, Digits="3"))

    assert redirect.tag == "Redirect"
    assert redirect.text == f"http://testserver/twilio/queue/wait/?queue={queue.pk}"


def test_an_agent_option_for_an_agent_who_cannot_take_the_call_goes_to_unanswered(client, line):
    option(line, "2", "agent", agent=AgentFactory(identity="carol", availability="away"))

    (redirect,) = twiml(menu_answer(client, line.menu, Digits="2"))

    assert (redirect.tag, redirect.text) == ("Redirect", "http://testserver/twilio/dial/?offered=")


def test_a_forward_option_rings_the_number_from_ours(client, line):
    option(line, "3", "forward", forward_to=OTHER_OFFICE)

    (dial,) = twiml(menu_answer(client, line.menu, Digits="3"))

    assert dial.attrib["callerId"] == SUPPORT_LINE
    assert dial.attrib["action"] == "http://testserver/twilio/dial/?offered=&forwarded=1"
    assert [(noun.tag, noun.text) for noun in dial] == [("Number", OTHER_OFFICE)]


def test_a_voicemail_option_takes_a_message_for_the_number(client, line):
    option(line, "4", "voicemail")

    document = twiml(menu_answer(client, line.menu, Digits="4"))

    assert tags(document) == ["Say", "Record"]
    assert document.find("Record").attrib["recordingStatusCallback"] == (
        f"http://testserver/twilio/recording/?number={line.pk}"
    )


def test_a_message_option_speaks_it_and_hangs_up(client, line):
    option(line, "5", "message", message="We are at 1 Main Street.")

    document = twiml(menu_answer(client, line.menu, Digits="5"))

    assert tags(document) == ["Say", "Hangup"]
    assert document.find("Say").text == "We are at 1 Main Street."


def test_the_hash_key_is_an_option_like_any_other(client, line):
    option(line, "#", "message", message="Hash.")

    assert twiml(menu_answer(client, line.menu, Digits="#")).find("Say").text == "Hash."


@pytest.mark.parametrize("said", ["Sales.", "sales please", "I'd like SALES, thanks"])
def test_saying_an_options_keyword_chooses_it(client, line, said):
    option(line, "1", "message", message="Sales.", speech="Sales")
    option(line, "2", "message", message="Support.", speech="support")

    document = twiml(menu_answer(client, line.menu, SpeechResult=said, Confidence="0.9"))

    assert document.find("Say").text == "Sales."


def test_a_keyword_is_matched_as_whole_words(client, line):
    option(line, "1", "message", message="Sales.", speech="sale")

    document = twiml(menu_answer(client, line.menu, SpeechResult="wholesale"))

    assert tags(document) == ["Say", "Gather"]


# Silence, wrong keys and the default.


@pytest.mark.parametrize("fields", [{}, {"Digits": ""}, {"Digits": "9"}, {"SpeechResult": "hm"}])
def test_silence_or_a_key_that_is_no_option_plays_the_menu_again(client, line, fields):
    option(line, "1", "ring")

    document = twiml(menu_answer(client, line.menu, attempt=1, **fields))

    assert tags(document) == ["Say", "Gather"]
    assert document.find("Say").text == "Sorry, I did not get that."
    assert document.find("Gather").attrib["action"] == gather_action(line.menu, 2)


def test_after_the_last_repeat_the_caller_gets_the_default_option(client, line):
    option(line, "1", "ring")
    option(line, "0", "message", message="Goodbye.", is_default=True)

    last_repeat = twiml(menu_answer(client, line.menu, attempt=2, Digits="9"))
    after_it = twiml(menu_answer(client, line.menu, attempt=3, Digits="9"))

    assert last_repeat.find("Gather").attrib["action"] == gather_action(line.menu, 3)
    assert tags(after_it) == ["Say", "Hangup"]
    assert after_it.find("Say").text == "Goodbye."


def test_without_a_default_the_numbers_agents_ring_after_the_last_repeat(client, line):
    option(line, "5", "message", message="Hello.")

    (dial,) = twiml(menu_answer(client, line.menu, attempt=3))

    assert rung_identities(dial) == ["alice", "bob"]


def test_a_menu_without_repeats_goes_to_its_default_at_once(client, line):
    Menu.objects.filter(pk=line.menu.pk).update(repeats=0)
    option(line, "4", "voicemail", is_default=True)

    assert tags(twiml(menu_answer(client, line.menu))) == ["Say", "Record"]


def test_a_menu_removed_while_the_caller_listened_rings_the_numbers_agents(client, line):
    menu = line.menu
    menu_pk = menu.pk
    menu.delete()
    menu.pk = menu_pk

    (dial,) = twiml(menu_answer(client, menu, Digits="1"))

    assert rung_identities(dial) == ["alice", "bob"]


def test_the_keys_pressed_are_kept_on_the_parent_legs_event(client, line):
    option(line, "5", "message", message="Hello.")

    menu_answer(client, line.menu, Digits="5")

    assert CallEvent.objects.filter(parameters__Digits="5").count() == 1


# What the webhook refuses.


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"attempt": "1"}, {}),
        ({"menu": "x", "attempt": "1"}, {}),
        ({"menu": "1", "attempt": "0"}, {}),
        ({"menu": "1", "attempt": "99"}, {}),
        ({"menu": "1", "attempt": "1"}, {"Digits": "1; DROP"}),
        ({"menu": "1", "attempt": "1"}, {"SpeechResult": "a" * 2001}),
    ],
)
def test_a_malformed_menu_request_is_refused_with_400(client, line, query, fields):
    response = post_signed(
        client, "/twilio/menu/?" + urlencode(query), phone_form(SUPPORT_LINE) | fields
    )

    assert response.status_code == 400


def test_an_unsigned_menu_request_is_refused(client, line):
    path = "/twilio/menu/?" + urlencode({"menu": line.menu.pk, "attempt": 1})

    response = client.post(path, phone_form(SUPPORT_LINE) | {"Digits": "1"})

    assert response.status_code == 403


# The admin.


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))
    return client


def test_the_menu_page_previews_the_twiml_twilio_receives_escaped(supervisor_client, line):
    Menu.objects.filter(pk=line.menu.pk).update(greeting="Press 1 for <b>sales</b> & more.")
    option(line, "1", "ring", speech="sales")

    page = supervisor_client.get(f"/admin/inbound/menu/{line.menu.pk}/change/")

    assert page.status_code == 200
    assert "TwiML Twilio receives" in page.text
    assert "&lt;Gather" in page.text
    assert f"menu={line.menu.pk}&amp;amp;attempt=1" in page.text
    assert "Press 1 for &amp;lt;b&amp;gt;sales&amp;lt;/b&amp;gt; &amp;amp; more." in page.text
    assert "<b>sales</b>" not in page.text


def menu_form(line, **fields) -> dict[str, str]:
    return {
        "phone_number": str(line.pk),
        "greeting": "Press 1.",
        "repeats": "2",
        "timeout": "5",
        "options-INITIAL_FORMS": "0",
        "options-TOTAL_FORMS": "0",
    } | fields


def option_rows(*rows: dict[str, str]) -> dict[str, str]:
    form = {"options-TOTAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        form |= {f"options-{index}-{name}": value for name, value in row.items()}
    return form


def test_a_supervisor_adds_a_menu_with_its_options(supervisor_client):
    number = PhoneNumberFactory()
    rows = option_rows(
        {"key": "1", "action": "ring", "speech": "sales"},
        {"key": "0", "action": "message", "message": "Goodbye.", "is_default": "on"},
    )

    response = supervisor_client.post("/admin/inbound/menu/add/", menu_form(number, **rows))

    assert response.status_code == 302
    assert [str(o) for o in number.menu.options.all()] == [
        "0: spoken message, then hang up",
        "1: ring the number's agents",
    ]


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            [{"key": "1", "action": "ring"}, {"key": "1", "action": "voicemail"}],
            "Please correct the duplicate data for key",
        ),
        ([{"key": "1", "action": "agent"}], "Choose the agent for the agent action"),
        ([{"key": "1", "action": "message"}], "The message action needs a message."),
        ([{"key": "1", "action": "forward"}], "Forwarding needs a number to forward to."),
        (
            [
                {"key": "1", "action": "ring", "is_default": "on"},
                {"key": "2", "action": "voicemail", "is_default": "on"},
            ],
            "A menu has at most one default option.",
        ),
        (
            [
                {"key": "1", "action": "ring", "speech": "sales"},
                {"key": "2", "action": "voicemail", "speech": "Sales"},
            ],
            "Two options of this menu have the same spoken keyword.",
        ),
    ],
)
def test_the_admin_refuses_options_that_cannot_work(supervisor_client, rows, error):
    number = PhoneNumberFactory()

    response = supervisor_client.post(
        "/admin/inbound/menu/add/", menu_form(number, **option_rows(*rows))
    )

    assert response.status_code == 200
    assert error in response.text
    assert not Menu.objects.exists()


def test_the_admin_refuses_more_repeats_than_a_caller_should_wait_through(supervisor_client):
    response = supervisor_client.post(
        "/admin/inbound/menu/add/", menu_form(PhoneNumberFactory(), repeats="9")
    )

    assert response.status_code == 200
    assert not Menu.objects.exists()


def test_a_supervisor_moves_the_default_from_one_option_to_another(supervisor_client, line):
    first = option(line, "1", "ring")
    second = option(line, "2", "voicemail", is_default=True)
    rows = option_rows(
        {"id": str(first.pk), "menu": str(line.menu.pk), "key": "1", "action": "ring"}
        | {"is_default": "on"},
        {"id": str(second.pk), "menu": str(line.menu.pk), "key": "2", "action": "voicemail"},
    )

    response = supervisor_client.post(
        f"/admin/inbound/menu/{line.menu.pk}/change/",
        menu_form(line, **rows, **{"options-INITIAL_FORMS": "2"}),
    )

    assert response.status_code == 302
    assert list(line.menu.options.filter(is_default=True)) == [first]
