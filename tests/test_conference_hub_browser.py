"""An agent handles a call from /phone/, and a supervisor listens in from the live board, in
headless Chromium: the call is Twilio's (signed webhooks, the fake's conferences over real
HTTP), the agent's softphone the SDK stand-in (tests/softphone_stand_in.js)."""

import re

import pytest
from playwright.sync_api import Page, expect

from calls.models import ConferenceParticipant
from tests.browser import SCREENSHOTS, log_in, outside_the_browser_loop
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory, UserFactory
from tests.hub_calls import CUSTOMER_NUMBER, SUPPORT_LINE, HubCall
from tests.test_softphone_browser import open_phone, sdk_log
from voiceproject.roles import SUPERVISORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def line(db):
    """alice and bob ring for the support line; carol, offline, cannot take a transfer."""
    alice = AgentFactory(
        identity="alice",
        user=UserFactory(username="alice", first_name="Alice", last_name="Adams"),
        caller_id=SUPPORT_LINE,
        availability="available",
    )
    bob = AgentFactory(
        identity="bob",
        user=UserFactory(first_name="Bob", last_name="Brown"),
        availability="available",
    )
    AgentFactory(identity="carol", user=UserFactory(first_name="Carol", last_name="Cole"))
    line = PhoneNumberFactory(number=SUPPORT_LINE)
    line.agents.add(alice, bob)
    return line


@pytest.fixture
def answered(client, fake_twilio, celery_in_process, line, settings):
    """A customer's call alice answered, in its conference. Twilio requests the URLs the hub
    gives it on TWILIO_WEBHOOK_BASE_URL, which the test client and the live server share."""
    settings.TWILIO_WEBHOOK_BASE_URL = "http://testserver"
    call = HubCall(client, fake_twilio)
    call.agent_leg = call.answered_by("alice")
    return call


def twilio_delivers(call: HubCall, live_server) -> None:
    """Twilio's callbacks since the last, and those they lead to, over HTTP to the live
    server, signed for the URLs Twilio was given."""
    while callbacks := call.conferences.callbacks[call.posted :]:
        call.posted += len(callbacks)
        for callback in callbacks:
            response = callback.post(live_server.url)
            assert response.status_code in (200, 204), response.text


def leg_of(call: HubCall, label: str) -> str:
    return outside_the_browser_loop(
        lambda: (
            ConferenceParticipant.objects.get(
                conference__friendly_name=call.name, label=label
            ).call_sid
        )
    )


def answers(call: HubCall, label: str, live_server) -> None:
    """The party the hub rang answers, and joins the conference."""
    call.conferences.answer(leg_of(call, label))
    twilio_delivers(call, live_server)


def has_handed_the_call_over(page: Page, call: HubCall) -> None:
    """alice has left the conference: the call has no controls left for her."""
    expect(page.locator("#hub-parties")).to_be_hidden()
    left = outside_the_browser_loop(
        lambda: (
            ConferenceParticipant.objects.get(
                conference__friendly_name=call.name, label="agent:alice"
            ).left_at
        )
    )
    assert left is not None


def on_the_call(chromium, live_server, *, width: int = 1280) -> Page:
    """alice's softphone rings with the customer's call, and she accepts it."""
    page = open_phone(chromium, live_server, width=width)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.evaluate(
        f"""device.ring("{CUSTOMER_NUMBER}", {{
            caller_number: "{CUSTOMER_NUMBER}", called_number: "{SUPPORT_LINE}",
            called_name: "Support"
        }})"""
    )
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#hub-parties .name")).to_have_text(["Customer", "You"])
    return page


def state_of(page: Page, name: str):
    return page.locator("#hub-parties li", has_text=name).locator(".badge")


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_an_agent_sees_who_is_in_the_call_and_holds_and_resumes_the_customer(
    answered, chromium, live_server
):
    page = on_the_call(chromium, live_server)
    expect(state_of(page, "Customer")).to_have_text("Talking")

    page.get_by_role("button", name="Hold", exact=True).click()

    expect(state_of(page, "Customer")).to_have_text("On hold")
    expect(page.locator("#hub-status")).to_have_text("The other party is on hold.")
    assert answered.fake.writes[-1][1]["Hold"] == "true"
    expect(page.locator("#hub-colleague option")).to_have_text(["Choose…", "Bob Brown"])
    shoot(page, "softphone-call-controls")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "softphone-call-controls-390")

    page.get_by_role("button", name="Resume").click()
    expect(state_of(page, "Customer")).to_have_text("Talking")
    expect(page.get_by_role("button", name="Hold", exact=True)).to_be_visible()


def test_a_blind_transfer_hands_the_customer_to_a_free_colleague(answered, chromium, live_server):
    page = on_the_call(chromium, live_server)
    expect(page.get_by_role("button", name="Transfer", exact=True)).to_be_disabled()

    page.select_option("#hub-colleague", "bob")
    page.get_by_role("button", name="Transfer", exact=True).click()

    expect(state_of(page, "Bob Brown")).to_have_text("Ringing")
    expect(state_of(page, "Customer")).to_have_text("On hold")
    answers(answered, "agent:bob", live_server)
    has_handed_the_call_over(page, answered)
    expect(page.locator("#hub-status")).to_have_text(
        "Transferring to Bob Brown: you leave the call once they answer."
    )


def test_a_consulted_colleague_takes_the_call_once_he_has_answered(answered, chromium, live_server):
    page = on_the_call(chromium, live_server)
    page.select_option("#hub-colleague", "bob")
    page.get_by_role("button", name="Consult").click()
    expect(state_of(page, "Bob Brown (transfer)")).to_have_text("Ringing")
    expect(page.locator("#hub-destination")).to_be_hidden()

    page.get_by_role("button", name="Complete transfer").click()
    expect(page.locator("#phone-error")).to_have_text(
        "The colleague you are consulting has not answered yet."
    )

    answers(answered, "agent:bob", live_server)
    expect(state_of(page, "Bob Brown (transfer)")).to_have_text("Talking")
    page.get_by_role("button", name="Complete transfer").click()
    expect(page.locator("#phone-error")).to_be_hidden()
    has_handed_the_call_over(page, answered)


def test_an_agent_adds_a_number_to_the_call_and_removes_it(answered, chromium, live_server):
    page = on_the_call(chromium, live_server)
    page.fill("#hub-number", "(212) 555-0177")
    page.get_by_role("button", name="Add to call").click()
    expect(page.locator("#hub-parties .name")).to_have_text(["Customer", "Other party", "You"])

    page.get_by_role("button", name="Remove Other party from the call").click()

    expect(page.locator("#hub-parties .name")).to_have_text(["Customer", "You"])


@pytest.fixture
def alice(db):
    return AgentFactory(
        identity="alice", user=UserFactory(username="alice"), caller_id=SUPPORT_LINE
    )


def test_cancel_stops_an_outgoing_call_while_it_rings(alice, chromium, live_server):
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.fill("#dial-to", "+14155550123")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#outgoing")).to_contain_text("Calling +14155550123…")

    page.get_by_role("button", name="Cancel the call").click()

    expect(page.locator("#outgoing")).to_be_hidden()
    assert sdk_log(page)[-1] == "disconnect"
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Away"))


@pytest.fixture
def ringing_out(alice, fake_twilio):
    """alice's own call to a number, ringing it: the parent is her softphone's leg."""
    parent = CallFactory(
        from_number="client:alice", to_number="+14155550123", status="in-progress", agent=alice
    )
    child = CallFactory(
        parent=parent, direction="outbound-dial", to_number="+14155550123", status="ringing"
    )
    fake_twilio.add_call(child.sid, status="ringing", parent_call_sid=parent.sid)
    return parent, child


def test_cancel_asks_the_server_when_the_sdk_cannot(
    ringing_out, fake_twilio, chromium, live_server
):
    parent, child = ringing_out
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.evaluate("window.sdkDisconnectFails = true")
    page.fill("#dial-to", "+14155550123")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#outgoing")).to_be_visible()
    page.evaluate(f"device.lastCall.ringing('{parent.sid}')")

    page.get_by_role("button", name="Cancel the call").click()

    expect(page.locator("#outgoing")).to_be_hidden()
    assert (f"/Calls/{child.sid}.json", {"Status": "canceled"}) in [
        (path[path.index("/Calls/") :], form) for path, form in fake_twilio.writes
    ]


@pytest.fixture
def sue(db):
    """A supervisor with a softphone of her own, which listening in rings."""
    return AgentFactory(identity="sue", user=UserFactory(username="sue", groups=[SUPERVISORS]))


def test_a_supervisor_listens_in_from_the_live_board_and_the_agent_is_told(
    answered, sue, chromium, live_server
):
    phone = on_the_call(chromium, live_server)
    board = chromium.new_page(viewport={"width": 1280, "height": 800})
    log_in(board, f"{live_server.url}/calls/live/", "sue")
    call = board.locator(f'#live-calls tr[data-sid="{answered.parent_sid}"]')

    call.get_by_role("button", name="Listen").click()

    expect(board.locator("#monitor-status")).to_contain_text(
        "Your softphone is ringing: answer it on your phone."
    )
    answers(answered, "supervisor:sue", live_server)
    expect(phone.locator("#hub-supervised")).to_have_text("A supervisor is listening")
    expect(call.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true")
    shoot(board, "live-board-listening")
    board.set_viewport_size({"width": 390, "height": 844})
    shoot(board, "live-board-listening-390")
    board.set_viewport_size({"width": 1280, "height": 800})

    call.get_by_role("button", name="Whisper").click()
    expect(phone.locator("#hub-supervised")).to_have_text("A supervisor is coaching you")
    twilio_delivers(answered, live_server)

    call.get_by_role("button", name="Leave").click()
    expect(board.locator("#monitor-status")).to_have_text("You left the call.")
    twilio_delivers(answered, live_server)
    expect(phone.locator("#hub-supervised")).to_be_hidden()
