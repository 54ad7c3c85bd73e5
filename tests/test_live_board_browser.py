"""A supervisor watches calls ring, connect and end on the live board, in headless Chromium."""

import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from agents.services import user_time_zone_set
from tests.browser import log_in
from tests.factories import DEFAULT_PASSWORD, AgentFactory, PhoneNumberFactory, UserFactory
from tests.test_call_log_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.test_live_board import CUSTOMER, OUR_NUMBER, inbound_call, make_available_or_away
from tests.twilio_requests import deliver_over_http
from voiceproject.roles import SUPERVISORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The board (JSON and page) must show a callback within this many milliseconds of Twilio
# sending it.
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

    def send(*statuses) -> float:
        """Deliver the callbacks with these statuses; return when the last one was answered."""
        for delivery in deliveries:
            if delivery.parameters["CallStatus"] in statuses:
                response = deliver_over_http(live_server.url, delivery)
                assert response.status_code in (200, 204), response.text
        return time.monotonic()

    def json_follows(page, sent_at: float, check) -> None:
        """The JSON, asked over HTTP with the page's session, shows it within the limit."""
        while True:
            board = page.request.get(f"{live_server.url}/api/calls/live/").json()
            if check(board):
                return
            assert time.monotonic() - sent_at < FOLLOWS_WITHIN_MS / 1000, board
            time.sleep(0.05)

    def left_ms(sent_at: float) -> float:
        """What remains of the limit since the callbacks were answered."""
        return max(FOLLOWS_WITHIN_MS - (time.monotonic() - sent_at) * 1000, 1)

    def legs(board) -> list[tuple[str | None, str]]:
        return [(leg["agent"], leg["status"]) for call in board["calls"] for leg in call["legs"]]

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
        sent_at = send("ringing", "initiated")
        json_follows(page, sent_at, lambda board: ("alice", "ringing") in legs(board))
        expect(call.locator("li .status-ringing")).to_have_count(3, timeout=left_ms(sent_at))
        expect(page.locator("#count-ringing")).to_have_text("1")

        sent_at = send("in-progress")
        json_follows(page, sent_at, lambda board: ("alice", "in-progress") in legs(board))
        alice_row = page.locator('#live-agents tr[data-identity="alice"]')
        expect(alice_row.locator(".on-call")).to_have_text(
            f"on a call with {CUSTOMER}", timeout=left_ms(sent_at)
        )
        expect(call.locator("li", has_text="alice").locator(".status-in-progress")).to_be_visible()
        expect(page.locator("#count-in-progress")).to_have_text("1")
        page.screenshot(path=SCREENSHOTS / "live-board.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=SCREENSHOTS / "live-board-mobile.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        sent_at = send("completed", "canceled")
        json_follows(page, sent_at, lambda board: board["calls"] == [])
        expect(call).to_have_count(0, timeout=left_ms(sent_at))
        expect(page.locator("#count-answered-today")).to_have_text("1")
        expect(alice_row.locator(".on-call")).to_have_text("free")
        browser.close()


def test_the_board_tells_times_of_day_in_24_hours_with_the_zone_and_a_date_before_today(
    live_server,
):
    paris = ZoneInfo("Europe/Paris")
    now = timezone.now().replace(microsecond=0)
    alice, bob = AgentFactory(identity="alice"), AgentFactory(identity="bob")
    make_available_or_away({alice: "available"}, at=now - timedelta(minutes=1))
    make_available_or_away({bob: "away"}, at=now - timedelta(days=2, hours=3))
    supervisor = UserFactory(username="sue", groups=[SUPERVISORS])
    user_time_zone_set(user=supervisor, time_zone="Europe/Paris")

    def shown(moment) -> str:
        local = moment.astimezone(paris)
        day = "" if local.date() == now.astimezone(paris).date() else f"{local:%Y-%m-%d} "
        return f"{day}{local:%H:%M} {local.tzname()}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # The browser's own zone and 12-hour locale must not leak into the board.
        page = browser.new_page(
            viewport={"width": 1280, "height": 800}, locale="en-US", timezone_id="America/Denver"
        )
        log_in(page, f"{live_server.url}/calls/live/", supervisor.username)
        since = page.locator("#live-agents td.since")
        expect(since).to_have_text(
            [shown(now - timedelta(minutes=1)), shown(now - timedelta(days=2, hours=3))]
        )
        expect(page.locator("#live-status")).to_have_text(
            re.compile(r"Live: updated \d\d:\d\d:\d\d CES?T")
        )
        page.screenshot(path=SCREENSHOTS / "live-board-times.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=SCREENSHOTS / "live-board-times-390.png", full_page=True)
        browser.close()
