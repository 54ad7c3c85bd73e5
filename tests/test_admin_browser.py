"""A supervisor uses the admin at 1280 px, in headless Chromium: the Calls list, an agent."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from tests.factories import (
    DEFAULT_PASSWORD,
    AgentFactory,
    CallFactory,
    PhoneNumberFactory,
    TwimlAppFactory,
    UserFactory,
)
from tests.test_call_log_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from voiceproject.roles import SUPERVISORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1280


def admin_page(browser, live_server, path: str, *, supervisor, height: int):
    """A 1280 px wide page of the admin, logged in as the supervisor through its login form.

    Make the supervisor before Playwright starts: inside its greenlet the ORM refuses."""
    page = browser.new_page(viewport={"width": WIDTH, "height": height})
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    return page


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
        page = admin_page(
            browser, live_server, "/admin/calls/call/", supervisor=supervisor, height=800
        )
        headers = page.locator("#result_list thead th")
        expect(headers).to_have_count(9)
        page.screenshot(path=SCREENSHOTS / "admin-calls.png")
        results = page.locator("#changelist .results")
        assert results.evaluate("node => node.scrollWidth <= node.clientWidth")
        last_header = headers.nth(8).bounding_box()
        assert last_header is not None
        assert last_header["x"] + last_header["width"] <= WIDTH
        browser.close()


def test_the_agents_list_fits_in_1280_px(live_server):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    for name in ["alice", "bob", "carol_support_desk"]:
        user = UserFactory(username=name, first_name=name.title(), last_name="Example")
        AgentFactory(identity=name, user=user)
    supervisor = UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = admin_page(
            browser, live_server, "/admin/agents/agent/", supervisor=supervisor, height=700
        )
        expect(page.locator("#result_list tbody tr")).to_have_count(3)
        results = page.locator("#changelist .results")
        assert results.evaluate("node => node.scrollWidth <= node.clientWidth")
        browser.close()


def test_a_supervisor_adds_an_agent_typing_a_national_number_then_sets_its_password(
    live_server,
):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app = TwimlAppFactory(friendly_name="Support softphone")
    PhoneNumberFactory(number="+14155550100", friendly_name="Support line")
    PhoneNumberFactory(number="+14155550111", friendly_name="Sales line")
    supervisor = UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = admin_page(
            browser, live_server, "/admin/agents/agent/add/", supervisor=supervisor, height=1100
        )
        page.fill("#id_username", "ivan")
        page.fill("#id_first_name", "Ivan")
        page.fill("#id_email", "ivan@example.com")
        page.fill("#id_password1", "a-long-enough-password-7")
        page.fill("#id_password2", "a-long-enough-password-7")
        page.fill("#id_identity", "ivan")
        # The TwiML App picker is the admin's autocomplete (select2).
        page.locator(".field-twiml_app .select2-selection").click()
        page.locator(".select2-results__option", has_text=app.friendly_name).click()
        page.fill("#id_caller_id", "(415) 555-0100")
        page.get_by_label("Support line").check()
        page.screenshot(path=SCREENSHOTS / "admin-add-agent.png", full_page=True)
        page.click("input[name=_continue]")
        expect(page.locator("#id_caller_id")).to_have_value("+14155550100")
        expect(page.get_by_label("Support line")).to_be_checked()
        page.screenshot(path=SCREENSHOTS / "admin-agent.png", full_page=True)

        page.get_by_role("link", name="Set password").click()
        page.fill("#id_new_password1", "another-long-password-8")
        page.fill("#id_new_password2", "another-long-password-8")
        page.click("input[type=submit]")
        expect(page.locator(".messagelist")).to_contain_text("Set a new password for ivan")
        browser.close()
