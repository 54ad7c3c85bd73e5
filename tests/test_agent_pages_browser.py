"""An agent's own pages in headless Chromium at a desktop's and a phone's width: the home page,
and the voicemail inbox with its call back (through the softphone's stand-in Device) and
delete."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser import SCREENSHOTS, log_in
from tests.factories import AgentFactory, CallFactory, RecordingFactory, UserFactory
from tests.test_softphone_browser import STAND_IN, sdk_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 390]


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@pytest.fixture
def alice():
    user = UserFactory(username="alice", first_name="Alice", last_name="Adams")
    return AgentFactory(user=user, identity="alice", caller_id="+14155550100")


@pytest.fixture
def bob_s_voicemail(alice):
    bob = AgentFactory(identity="bob", user=UserFactory(first_name="Bob", last_name="Brown"))
    call = CallFactory(from_number="client:bob", to_number="alice", agent=bob)
    return RecordingFactory(call=call, kind="voicemail", voicemail_agent=alice, duration=12)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_home_page_fits_the_screen_whatever_the_twiml_app_sid(
    alice, chromium, live_server, width
):
    page = chromium.new_page(viewport={"width": width, "height": 800})
    log_in(page, f"{live_server.url}/", "alice")
    expect(page.locator("dd code")).to_have_text(alice.twiml_app.sid)
    assert not scrolls_sideways(page)
    page.screenshot(path=SCREENSHOTS / f"agent-home-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_voicemail_inbox_and_its_delete_page_fit_the_screen(
    bob_s_voicemail, chromium, live_server, width
):
    page = chromium.new_page(viewport={"width": width, "height": 800})
    log_in(page, f"{live_server.url}/recordings/voicemail/", "alice")
    expect(page.locator(".voicemail .caller")).to_have_text("Bob Brown (bob)")
    assert not scrolls_sideways(page)
    page.screenshot(path=SCREENSHOTS / f"voicemail-inbox-{width}.png", full_page=True)
    page.get_by_role("link", name="Delete…").click()
    expect(page.locator("h1")).to_have_text("Delete this voicemail?")
    assert not scrolls_sideways(page)
    page.screenshot(path=SCREENSHOTS / f"voicemail-delete-{width}.png", full_page=True)


def test_an_agent_calls_a_colleague_back_from_his_voicemail(bob_s_voicemail, chromium, live_server):
    page = chromium.new_page(viewport={"width": 390, "height": 800})
    page.add_init_script(path=STAND_IN)
    log_in(page, f"{live_server.url}/recordings/voicemail/", "alice")
    page.get_by_role("link", name="Call back").click()
    expect(page.locator("#dial-to")).to_have_value("bob")
    expect(page.locator("#dial-preview")).to_have_text("Will call agent bob")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#phone-state")).to_have_text("Calling agent bob…")
    assert sdk_log(page)[-1] == "connect bob"
    page.screenshot(path=SCREENSHOTS / "softphone-call-back-390.png", full_page=True)
