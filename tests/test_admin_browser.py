"""A supervisor reads the admin's Calls list at 1280 px, in headless Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from tests.factories import DEFAULT_PASSWORD, AgentFactory, CallFactory, UserFactory
from tests.test_call_log_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from voiceproject.roles import SUPERVISORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1280


def test_every_column_of_the_calls_list_fits_in_1280_px(live_server):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    agent = AgentFactory(identity="support_desk_eu")
    now = timezone.now()
    for number in range(12):
        start = now - timedelta(minutes=7 * number)
        parent = CallFactory(from_number=f"+1415555{number:04d}", start_time=start, duration=95)
        CallFactory(
            parent=parent,
            direction="outbound-dial",
            to_number=f"client:{agent.identity}",
            agent=agent,
            start_time=start + timedelta(seconds=1),
            duration=80,
        )
    supervisor = UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 800})
        page.goto(f"{live_server.url}/admin/calls/call/")
        page.fill("#id_username", supervisor.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        headers = page.locator("#result_list thead th")
        expect(headers).to_have_count(9)
        page.screenshot(path=SCREENSHOTS / "admin-calls.png")
        results = page.locator("#changelist .results")
        assert results.evaluate("node => node.scrollWidth <= node.clientWidth")
        last_header = headers.nth(8).bounding_box()
        assert last_header is not None
        assert last_header["x"] + last_header["width"] <= WIDTH
        browser.close()
