"""An agent writes a call's disposition and note on the softphone, and blocks a caller from
a finished call's page, in headless Chromium (the softphone with its SDK stand-in)."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from calls.models import Disposition, FamilyDisposition
from inbound.models import BlockedCaller
from tests.browser import log_in, outside_the_browser_loop
from tests.call_log_data import call_family
from tests.factories import AgentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAND_IN = Path(__file__).with_name("softphone_stand_in.js")
CUSTOMER = "+12125550123"


@pytest.fixture
def alice():
    return AgentFactory(user=UserFactory(username="alice"), identity="alice")


@pytest.fixture
def call_she_is_taking(alice):
    """A customer's call going on, answered by alice, and the list of dispositions."""
    for order, name in enumerate(["resolved", "call back"]):
        Disposition.objects.get_or_create(name=name, defaults={"order": order})
    return call_family(
        kind="inbound",
        status="in-progress",
        from_number=CUSTOMER,
        answered_by=alice,
        children=[{"agent": alice, "to_number": "client:alice", "status": "in-progress"}],
    )


@pytest.fixture
def call_she_took(alice):
    return call_family(
        kind="inbound",
        from_number=CUSTOMER,
        answered_by=alice,
        children=[{"agent": alice, "to_number": "client:alice"}],
    )


def test_an_agent_writes_the_disposition_and_note_of_the_call_she_took(
    call_she_is_taking, chromium, live_server
):
    family = call_she_is_taking
    her_leg = outside_the_browser_loop(lambda: family.children.get())
    page = chromium.new_page()
    page.add_init_script(path=STAND_IN)
    log_in(page, f"{live_server.url}/phone/", "alice")
    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Available"))

    page.evaluate(f"device.ring('{CUSTOMER}', {{caller_number: '{CUSTOMER}'}}, '{her_leg.sid}')")
    page.get_by_role("button", name="Accept").click()
    page.get_by_label("Disposition", exact=True).select_option("call back")
    page.get_by_label("Note", exact=True).fill("Wants a quote by Friday.")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#disposition-status")).to_have_text("Saved.")
    record = outside_the_browser_loop(
        lambda: FamilyDisposition.objects.select_related("disposition").get(call=family)
    )
    assert (record.disposition.name, record.note) == ("call back", "Wants a quote by Friday.")


def test_an_agent_blocks_the_caller_of_a_finished_call_from_its_page(
    call_she_took, chromium, live_server
):
    family = call_she_took
    page = chromium.new_page()
    log_in(page, f"{live_server.url}/calls/{family.sid}/", "alice")

    page.get_by_role("link", name="Block this caller…").click()
    expect(page.locator("h1")).to_have_text(f"Block {CUSTOMER}?")
    page.get_by_label("Reason").fill("Abusive caller")
    page.get_by_role("button", name="Block this caller").click()

    expect(page.locator(".message")).to_contain_text(f"Blocked {CUSTOMER}")
    expect(page.get_by_role("link", name="Block this caller…")).to_have_count(0)
    entry = outside_the_browser_loop(lambda: BlockedCaller.objects.get())
    assert (entry.number, entry.reason) == (CUSTOMER, "Abusive caller")
