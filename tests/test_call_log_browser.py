"""An analyst uses the call log in headless Chromium (Debian's package, never a download)."""

import csv
import io
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from calls.constants import DialResult
from calls.log.paging import PAGE_SIZE
from calls.models import Call
from demo.calls import demo_calls_create
from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, log_in
from tests.call_log_data import call_family, callback
from tests.factories import AgentFactory, UserFactory
from voiceproject.roles import ANALYSTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_week_of_calls():
    """Customers calling our line (agents ring together) and agents calling out."""
    rng = random.Random(5)
    agents = [AgentFactory(identity=name) for name in ("alice", "bob", "carol")]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    families = []
    for number in range(36):
        start = now - timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 10))
        start += timedelta(minutes=rng.randint(0, 59))
        talk = rng.randint(30, 900)
        customer = f"+1415{rng.randint(2000000, 9999999)}"
        if number % 3 == 0:
            agent = rng.choice(agents)
            families.append(
                call_family(
                    start=start,
                    from_number=agent.client_address,
                    to_number=customer,
                    agent=agent,
                    duration=talk + 5,
                    children=[{"from_number": "+14155550100", "to_number": customer,
                               "status": rng.choice(["completed", "completed", "busy"]),
                               "duration": talk}],
                )
            )  # fmt: skip
            continue
        answered = rng.random() < 0.8
        ringing = rng.sample(agents, 2)
        children = [
            {
                "from_number": customer,
                "to_number": agent.client_address,
                "agent": agent,
                "status": ("completed" if index == 0 else "canceled") if answered else "no-answer",
                "duration": talk if answered and index == 0 else 0,
            }
            for index, agent in enumerate(ringing)
        ]
        families.append(
            call_family(
                start=start,
                from_number=customer,
                to_number="+14155550100",
                duration=talk + 8,
                children=children,
            )
        )
    return families


def test_an_analyst_filters_opens_a_family_exports_and_sees_charts_and_api_docs(live_server):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    families = a_week_of_calls()
    missed = next(f for f in families if f.children.filter(status="no-answer").exists())
    for leg in [missed, *missed.children.all()]:
        callback(leg, "ringing", 1, From=leg.from_number, To=leg.to_number)
        callback(leg, leg.status, 2, From=leg.from_number, To=leg.to_number)
    analyst = UserFactory(username="ana", groups=[ANALYSTS])
    # Query before Playwright starts: inside its greenlet the ORM would open a connection of
    # its own that outlives the test and blocks dropping the test database.
    no_answer_families = {f.sid for f in families if f.children.filter(status="no-answer")}
    missed_child = missed.children.first()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)

        log_in(page, f"{live_server.url}/calls/", analyst.username)
        expect(page.locator("h1")).to_have_text("Call log")
        expect(page.locator("tbody.family")).to_have_count(PAGE_SIZE)
        page.screenshot(path=SCREENSHOTS / "analyst-call-log.png", full_page=False)
        page.locator("a[rel=next]").click()
        expect(page.locator("tbody.family")).to_have_count(36 - PAGE_SIZE)

        page.select_option("select[name=status]", "no-answer")
        page.get_by_role("button", name="Filter", exact=True).click()
        expect(page.locator("tr.child .status-no-answer").first).to_be_visible()
        expect(page.locator("tbody.family")).to_have_count(len(no_answer_families))
        page.screenshot(path=SCREENSHOTS / "analyst-call-log-filtered.png", full_page=False)

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Export CSV").click()
        download = download_info.value
        download.save_as(SCREENSHOTS / "call-log-filtered.csv")
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
        assert {row["parent_sid"] or row["sid"] for row in rows} == no_answer_families

        page.goto(f"{live_server.url}/calls/{missed_child.sid}/")
        expect(page.locator("h1")).to_contain_text(missed.sid)
        expect(page.locator(".timeline li")).to_have_count(6)
        page.locator(".timeline summary").first.click()
        page.screenshot(path=SCREENSHOTS / "analyst-call-family.png", full_page=True)

        page.get_by_role("link", name="Charts").first.click()
        expect(page.locator("svg.chart")).to_have_count(2)
        page.screenshot(path=SCREENSHOTS / "analyst-call-charts.png", full_page=True)

        page.get_by_role("link", name="API").click()
        expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "api-docs.png", full_page=False)
        browser.close()


def demo_days_of_calls() -> Call:
    """Three days of demo traffic, written through the webhooks' service (so every family has
    its kind and outcome); returns a missed inbound call."""
    for identity in ("alice", "bob"):
        AgentFactory(identity=identity, user=UserFactory(username=identity))
    demo_calls_create(
        account_sid="AC" + "a" * 32,
        application_sid="AP" + "d" * 32,
        number="+14155550100",
        caller_ids={"alice": "+14155550100", "bob": "+14155550100"},
        days=3,
        seed=8,
    )
    return (
        Call.objects.filter(parent__isnull=True, kind="inbound", dial_result=DialResult.UNANSWERED)
        .exclude(status="")
        .order_by("-start_time")
        .first()
    )


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize(("width", "height", "suffix"), [(1280, 900, ""), (390, 844, "-390")])
def test_list_family_and_stats_pages_fit_the_screen_without_sideways_scrolling(
    live_server, width, height, suffix
):
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    missed = demo_days_of_calls()
    UserFactory(username="ana", groups=[ANALYSTS])
    phone = width < 760

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})

        log_in(page, f"{live_server.url}/calls/", "ana")
        expect(page.locator("h1")).to_have_text("Call log")
        expect(page.locator(".kind").first).to_be_visible()
        page.wait_for_load_state("load")
        assert page_width(page) <= width
        page.screenshot(path=SCREENSHOTS / f"call-log{suffix}.png", full_page=False)

        form = page.locator("form.filters")
        if phone:
            expect(form).to_be_hidden()
            page.get_by_text("Filters", exact=True).click()
        expect(form).to_be_visible()
        page.select_option("select[name=kind]", "inbound")
        page.select_option("select[name=outcome]", "unanswered")
        page.get_by_role("button", name="Filter", exact=True).click()
        expect(page.locator(".outcome-unanswered").first).to_be_visible()
        assert page_width(page) <= width
        page.screenshot(path=SCREENSHOTS / f"call-log-missed{suffix}.png", full_page=False)

        page.goto(f"{live_server.url}/calls/?started_after=2026-13-45")
        expect(page.locator(".field-error")).to_contain_text("Enter a valid date.")
        expect(page.locator("tbody.family")).to_have_count(0)

        page.goto(f"{live_server.url}/calls/{missed.sid}/")
        expect(page.locator("h1")).to_contain_text(missed.sid)
        # Latest first: the parent's ringing, the first callback of all, comes last.
        expect(page.locator(".timeline li").last).to_contain_text("ringing")
        page.locator(".timeline summary").first.click()
        assert page_width(page) <= width
        page.screenshot(path=SCREENSHOTS / f"call-family{suffix}.png", full_page=True)

        page.goto(f"{live_server.url}/calls/stats/")
        expect(page.locator("svg.chart")).to_have_count(2)
        expect(page.locator("table.agents").first.locator("tbody tr")).to_have_count(2)
        assert page_width(page) <= width
        page.screenshot(path=SCREENSHOTS / f"call-charts{suffix}.png", full_page=True)
        browser.close()


def test_the_family_legs_table_fits_a_1280_px_screen(live_server):
    """Every column, the price included, is seen without scrolling on a laptop's screen."""
    agent = AgentFactory(identity="alexandra_lindqvist")
    start = timezone.now() - timedelta(minutes=5)
    parent = call_family(
        start=start,
        from_number="+442071838750",
        to_number="+14155550100",
        duration=3725,
        price="-0.01300",
        price_unit="USD",
        children=[
            {"from_number": "+442071838750", "to_number": agent.client_address, "agent": agent,
             "status": "completed", "duration": 3720, "price": "-0.00400", "price_unit": "USD",
             "answer_time": start + timedelta(seconds=4), "end_time": start + timedelta(hours=1)},
            {"from_number": "+442071838750", "to_number": "client:bob", "status": "canceled",
             "duration": 0, "end_time": start + timedelta(seconds=4)},
        ],
    )  # fmt: skip
    Call.objects.filter(pk=parent.pk).update(
        answer_time=start, end_time=start + timedelta(hours=1, seconds=5)
    )
    UserFactory(username="ana", groups=[ANALYSTS])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, f"{live_server.url}/calls/{parent.sid}/", "ana")
        legs = page.locator(".table-wrap:has(table.calls)")
        expect(legs).to_contain_text("-0.01300 USD")

        page.screenshot(path=SCREENSHOTS / "call-family-legs.png")
        overflow = legs.evaluate("wrap => wrap.scrollWidth - wrap.clientWidth")
        price = page.locator("table.calls tbody tr").first.locator("td").last.bounding_box()
        box = legs.bounding_box()
        browser.close()

    assert overflow <= 0
    assert price["x"] + price["width"] <= box["x"] + box["width"]
