"""A supervisor sets a number's menu in the admin, in headless Chromium, and reads the TwiML
Twilio will receive, at 1280 px and on a phone (390 px)."""

import pytest
from playwright.sync_api import expect

from tests.browser import SCREENSHOTS
from tests.factories import (
    DEFAULT_PASSWORD,
    AgentFactory,
    MenuFactory,
    MenuOptionFactory,
    PhoneNumberFactory,
    UserFactory,
)
from voiceproject.roles import SUPERVISORS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def support_menu():
    """The support line's menu, made before Playwright starts (inside its loop the ORM
    refuses)."""
    line = PhoneNumberFactory(number="+14155550100", friendly_name="Support line")
    alice = AgentFactory(identity="alice")
    line.agents.add(alice)
    menu = MenuFactory(
        phone_number=line,
        greeting="Thanks for calling. For sales press 1 or say sales. For support press 2.",
    )
    MenuOptionFactory(menu=menu, key="1", action="ring")
    MenuOptionFactory(menu=menu, key="2", action="agent", agent=alice)
    MenuOptionFactory(menu=menu, key="0", action="voicemail", is_default=True)
    return menu


@pytest.fixture
def supervisor():
    return UserFactory(username="sue", is_staff=True, groups=[SUPERVISORS])


def test_a_supervisor_adds_a_spoken_option_and_sees_the_twiml_change(
    support_menu, supervisor, chromium, live_server
):
    menu = support_menu

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/inbound/menu/{menu.pk}/change/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    preview = page.locator(".twiml-preview pre")
    expect(preview).to_contain_text('<Gather action="')
    expect(preview).to_contain_text('input="dtmf"')

    # The "1" option gets a keyword: the menu now listens for speech too.
    page.fill("#id_options-1-speech", "sales")  # options are listed by key: 0, 1, 2
    page.click("input[name=_continue]")

    expect(preview).to_contain_text('input="dtmf speech"')
    expect(preview).to_contain_text('hints="sales"')
    assert page.evaluate("document.documentElement.scrollWidth <= 1280")
    page.screenshot(path=SCREENSHOTS / "admin-menu.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert preview.evaluate("node => node.scrollWidth <= node.clientWidth")
    page.screenshot(path=SCREENSHOTS / "admin-menu-390.png", full_page=True)
