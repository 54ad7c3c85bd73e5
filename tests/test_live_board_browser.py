"""A supervisor watches calls ring, connect and end on the live board, in headless Chromium."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import DEFAULT_PASSWORD, AgentFactory, PhoneNumberFactory, UserFactory
from tests.test_call_log_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.test_live_board import CUSTOMER, OUR_NUMBER, inbound_call, make_available_or_away
from tests.twilio_requests import deliver_over_http
from voiceproject.roles import SUPERVISORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The board must show a callback within this many milliseconds of Twilio sending it.
FOLLOWS_WITHIN_MS = 2000


def test_a_supervisor_sees_a_call_ring_connect_and_end_within_two_seconds(live_server):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice, bob = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    carol = AgentFactory(identity="carol")
    make_available_or_away({alice: "available", bob: "available", carol: "away"})
    PhoneNumberFactory(number=OUR_NUMBER).agents.add(alice, bob)
    supervisor = UserFactory(username="sue", groups=[SUPERVISORS])
    deliveries = inbound_call()
    parent_sid = deliveries[0].parameters["CallSid"]

    def send(*statuses):
        for delivery in deliveries:
            if delivery.parameters["CallStatus"] in statuses:
                response = deliver_over_http(live_server.url, delivery)
                assert response.status_code in (200, 204), response.text

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{live_server.url}/calls/live/")
        page.fill("#id_username", supervisor.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Live board")
        expect(page.locator("#live-calls")).to_contain_text("No calls right now.")
        expect(page.locator("#live-agents tr")).to_have_count(3)
        expect(page.locator('#live-agents tr[data-identity="carol"]')).to_contain_text("away")

        call = page.locator(f'#live-calls tr[data-sid="{parent_sid}"]')
        send("ringing", "initiated")
        expect(call).to_be_visible(timeout=FOLLOWS_WITHIN_MS)
        expect(call.locator("li .status-ringing")).to_have_count(3, timeout=FOLLOWS_WITHIN_MS)
        expect(page.locator("#count-ringing")).to_have_text("1")

        send("in-progress")
        expect(call.locator("li", has_text="alice").locator(".status-in-progress")).to_be_visible(
            timeout=FOLLOWS_WITHIN_MS
        )
        alice_row = page.locator('#live-agents tr[data-identity="alice"]')
        expect(alice_row.locator(".on-call")).to_have_text(
            f"on a call with {CUSTOMER}", timeout=FOLLOWS_WITHIN_MS
        )
        expect(page.locator("#count-in-progress")).to_have_text("1")
        page.screenshot(path=SCREENSHOTS / "live-board.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=SCREENSHOTS / "live-board-mobile.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        send("completed", "canceled")
        expect(call).to_have_count(0, timeout=FOLLOWS_WITHIN_MS)
        expect(page.locator("#count-answered-today")).to_have_text("1")
        expect(alice_row.locator(".on-call")).to_have_text("free")
        browser.close()
