"""An agent uses the softphone in headless Chromium, with a stand-in for the Voice SDK's Device
(tests/softphone_stand_in.js) that records what the page asks of the SDK; and once with the
real SDK, which cannot reach Twilio from here."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agents.constants import Availability, PresenceSource
from agents.models import Agent, PresenceChange
from inbound.models import CallerOutcome, QueueCaller, WrapUp
from tests.browser import SCREENSHOTS, eventually, log_in
from tests.factories import AgentFactory, QueueFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAND_IN = Path(__file__).with_name("softphone_stand_in.js")
SUPPORT_LINE = "+14155550100"


@pytest.fixture
def alice():
    user = UserFactory(username="alice", first_name="Alice", last_name="Adams")
    return AgentFactory(user=user, identity="alice", caller_id=SUPPORT_LINE)


def open_phone(
    browser, live_server, *, width=1280, stand_in=True, clock=False, unreachable=False
) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    if clock:
        page.clock.install()
    if unreachable:
        page.add_init_script("window.twilioUnreachable = true")
    if stand_in:
        page.add_init_script(path=STAND_IN)
    log_in(page, f"{live_server.url}/phone/", "alice")
    expect(page.locator("h1")).to_have_text("Softphone")
    return page


def sdk_log(page: Page) -> list[str]:
    return page.evaluate("window.sdkLog")


def presence(page: Page) -> dict:
    return page.evaluate("fetch('/api/presence/').then((response) => response.json())")


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def colleagues():
    bob = AgentFactory(
        identity="bob",
        user=UserFactory(first_name="Bob", last_name="Brown"),
        availability=Availability.AVAILABLE,
    )
    AgentFactory(identity="carol", user=UserFactory(first_name="Carol", last_name="Cole"))
    return bob


def test_agent_goes_available_takes_a_call_dials_and_goes_away(
    alice, colleagues, chromium, live_server
):
    bob = colleagues
    token_requests = []
    page = open_phone(chromium, live_server)
    page.on("request", lambda request: "/api/token/" in request.url and token_requests.append(1))

    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    assert sdk_log(page) == ["new Device"]
    directory = page.locator("#directory li")
    expect(directory).to_have_count(2)
    expect(directory.nth(0)).to_contain_text("Bob Brown")
    expect(directory.nth(0).locator(".badge")).to_have_text("Available")
    expect(directory.nth(1).locator(".badge")).to_have_text("Offline")
    expect(directory.nth(1).get_by_role("button")).to_be_disabled()
    shoot(page, "softphone-offline")

    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Available"))
    assert sdk_log(page)[-1] == "register"
    assert presence(page)["availability"] == "available"
    expect(page.locator("#input-device option")).to_have_text(
        ["Default microphone", "USB headset microphone"]
    )
    page.select_option("#input-device", "headset")
    page.select_option("#output-device", "headset")
    assert sdk_log(page)[-2:] == ["microphone headset", "speaker headset"]
    shoot(page, "softphone-available")

    page.evaluate(
        """device.ring("+12125550123", {
            caller_number: "+12125550123", called_number: "+14155550100", called_name: "Support"
        })"""
    )
    expect(page.locator("#incoming-caller")).to_have_text("+12125550123")
    expect(page.locator("#incoming-called")).to_have_text("called Support (+14155550100)")
    shoot(page, "softphone-incoming")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#in-call")).to_be_visible()
    expect(page.locator("#incoming")).to_be_hidden()
    expect(page.locator("#phone-state")).to_have_text("On a call with +12125550123")
    page.get_by_role("button", name="Mute").click()
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    page.locator("#keypad").get_by_role("button", name="5").click()
    page.locator("#keypad").get_by_role("button", name="#").click()
    expect(page.locator("#call-timer")).to_have_text("0:01")
    shoot(page, "softphone-on-call")
    page.get_by_role("button", name="Hang up").click()
    expect(page.locator("#in-call")).to_be_hidden()
    assert sdk_log(page)[-5:] == ["accept", "mute", "digits 5", "digits #", "disconnect"]

    page.evaluate(
        """device.ring("client:bob", {caller_identity: "bob", caller_name: "Bob Brown"})"""
    )
    expect(page.locator("#incoming-caller")).to_have_text("Bob Brown (bob)")
    expect(page.locator("#incoming-called")).to_have_text("called you directly")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#incoming")).to_be_hidden()
    assert sdk_log(page)[-1] == "reject"

    page.fill("#dial-to", "(415) 555-0123")
    expect(page.locator("#dial-preview")).to_have_text("Will call +14155550123")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#phone-state")).to_have_text("Calling +14155550123…")
    assert sdk_log(page)[-1] == "connect +14155550123"
    page.evaluate("device.lastCall.disconnect()")
    directory.nth(0).get_by_role("button", name="Call Bob Brown").click()
    assert sdk_log(page)[-1] == f"connect {bob.identity}"
    page.evaluate("device.lastCall.disconnect()")

    requests_before = len(token_requests)
    page.evaluate("device.emit('tokenWillExpire', device)")
    page.wait_for_function("() => window.sdkLog.includes('updateToken')")
    assert len(token_requests) == requests_before + 1

    page.get_by_role("button", name="Go away").click()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Away"))
    assert sdk_log(page)[-1] == "unregister"
    assert presence(page)["availability"] == "away"
    page.close(run_before_unload=True)

    expected = [
        ("offline", "available", PresenceSource.SOFTPHONE),
        ("available", "away", PresenceSource.SOFTPHONE),
        ("away", "offline", PresenceSource.SOFTPHONE),
    ]
    changes = eventually(
        lambda: list(
            PresenceChange.objects.filter(agent=alice)
            .order_by("id")
            .values_list("from_availability", "to_availability", "source")
        ),
        expected,
    )
    assert changes == expected


def test_an_offline_agent_who_places_a_call_is_away_rather_than_offline_on_a_call(
    alice, chromium, live_server
):
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.fill("#dial-to", "+14155550123")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#phone-state")).to_have_text("Calling +14155550123…")
    assert presence(page)["availability"] == "away"
    assert sdk_log(page)[-1] == "connect +14155550123"
    assert "register" not in sdk_log(page)


def test_tokens_are_renewed_on_a_timer_from_their_expiry(alice, chromium, live_server):
    page = open_phone(chromium, live_server, clock=True)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    # The server's tokens live an hour: the page renews two minutes before.
    page.clock.fast_forward("57:00")
    assert "updateToken" not in sdk_log(page)
    page.clock.fast_forward("01:30")
    page.wait_for_function("() => window.sdkLog.includes('updateToken')")


def test_a_failed_renewal_warns_and_retries(alice, chromium, live_server):
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.route("**/api/token/", lambda route: route.fulfill(status=502, body="Bad gateway"))
    page.evaluate("device.emit('tokenWillExpire', device)")
    expect(page.locator("#phone-warning")).to_contain_text("Could not renew the access token")
    expect(page.locator("#phone-warning")).to_contain_text("Trying again in 2 s")
    page.unroute("**/api/token/")
    page.wait_for_function("() => window.sdkLog.includes('updateToken')")
    expect(page.locator("#phone-warning")).to_be_hidden()


def test_a_logged_out_agent_is_sent_to_the_login_page(alice, chromium, live_server):
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.context.clear_cookies()
    page.evaluate("device.emit('tokenWillExpire', device)")
    expect(page).to_have_url(f"{live_server.url}/login/?next=%2Fphone%2F")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (31208, "Microphone permission denied"),
        (20104, "The access token expired"),
    ],
)
def test_sdk_errors_are_explained_in_words(alice, chromium, live_server, code, words):
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.evaluate(f"device.emit('error', {{code: {code}, message: 'raw'}})")
    expect(page.locator("#phone-error")).to_contain_text(words)
    expect(page.locator("#phone-state")).to_have_text("Problem with the phone")


@pytest.mark.parametrize("code", [20101, 31202])
def test_a_token_twilio_refuses_is_said_to_be_refused_not_lost(alice, chromium, live_server, code):
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.evaluate(f"device.emit('error', {{code: {code}, message: 'raw'}})")
    expect(page.locator("#phone-error")).to_contain_text(
        f"Twilio refused the access token (error {code})"
    )
    expect(page.locator("#phone-error")).to_contain_text("TWILIO_REGION")
    expect(page.locator("#phone-state")).to_have_text("Token refused")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_device_that_never_reached_twilio_names_the_hosts_and_ports_to_allow(
    alice, chromium, live_server, width
):
    page = open_phone(chromium, live_server, width=width, clock=True, unreachable=True)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.get_by_role("button", name="Go available").click()
    error = page.locator("#phone-error")
    expect(error).to_contain_text("Cannot reach Twilio (error 31005)")
    expect(error).to_contain_text("voice-js.roaming.twilio.com on TCP port 443")
    expect(error).to_contain_text("168.86.128.0/18 on UDP ports 10000\N{EN DASH}60000")
    expect(error).not_to_contain_text("lost")
    expect(page.locator("#phone-state")).to_have_text("Not connected")
    # The SDK keeps trying; the page's own deadline still speaks when nothing comes of it.
    page.clock.fast_forward("00:21")
    expect(error).to_contain_text("Twilio did not answer within 20 seconds")
    expect(error).to_contain_text("voice-js.roaming.twilio.com")
    shoot(page, f"softphone-cannot-reach-twilio-{width}")


def test_a_lost_connection_is_said_to_be_lost_until_the_device_is_back(
    alice, chromium, live_server
):
    page = open_phone(chromium, live_server)
    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Available"))
    page.evaluate("device.emit('error', {code: 31005, message: 'raw'})")
    expect(page.locator("#phone-error")).to_contain_text(
        "The connection to Twilio was lost (error 31005)"
    )
    expect(page.locator("#phone-error")).not_to_contain_text("Cannot reach")
    expect(page.locator("#phone-state")).to_have_text("Connection lost")
    page.evaluate("device.emit('registered')")
    expect(page.locator("#phone-error")).to_be_hidden()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Available"))


def test_missing_twilio_credentials_on_the_server_are_explained(
    alice, settings, chromium, live_server
):
    settings.TWILIO_API_KEY_SECRET = ""
    page = open_phone(chromium, live_server)
    expect(page.locator("#phone-error")).to_contain_text("The server has no Twilio credentials")
    expect(page.locator("#phone-state")).to_have_text("No access token")
    expect(page.get_by_role("button", name="Go available")).to_be_disabled()
    shoot(page, "softphone-error")


def test_the_real_sdk_without_network_says_it_cannot_reach_twilio(alice, chromium, live_server):
    page = open_phone(chromium, live_server, stand_in=False)
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    assert page.evaluate("window.Twilio.Device.version") == "2.18.5"
    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-state")).to_have_text("Not connected", timeout=25000)
    expect(page.locator("#phone-error")).to_contain_text("Cannot reach Twilio")
    expect(page.get_by_role("button", name="Go available")).to_be_enabled()
    assert presence(page)["availability"] == "offline"
    shoot(page, "softphone-no-network")


def test_the_real_sdk_connects_through_the_edge_of_the_server_s_region(
    alice, settings, chromium, live_server
):
    settings.TWILIO_REGION, settings.TWILIO_EDGE = "ie1", "dublin"
    page = open_phone(chromium, live_server, stand_in=False)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-error")).to_contain_text("voice-js.dublin.twilio.com")
    assert sockets
    assert set(sockets) == {"wss://voice-js.dublin.twilio.com/signal"}


def test_the_real_sdk_takes_its_sounds_from_our_static_files(alice, chromium, live_server):
    page = chromium.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, f"{live_server.url}/phone/", "alice")
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    sounds = {url for url in requested if "/sounds/" in url}
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Offline"))
    assert len(sounds) == 15
    assert all(url.startswith(f"{live_server.url}/static/voice/sounds/") for url in sounds)
    assert not [url for url in requested if "twilio.com" in url]


def test_the_softphone_fits_a_phone_screen(alice, chromium, live_server):
    page = open_phone(chromium, live_server, width=390)
    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Available"))
    page.evaluate(
        """device.ring("+12125550123", {
            caller_number: "+12125550123", called_number: "+14155550100", called_name: "Support"
        })"""
    )
    expect(page.locator("#incoming")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "softphone-incoming-390")
    page.get_by_role("button", name="Accept").click()
    shoot(page, "softphone-on-call-390")


@pytest.fixture
def not_an_agent():
    return UserFactory(username="alice")


def test_a_user_without_an_agent_is_told_why(not_an_agent, chromium, live_server):
    page = chromium.new_page()
    log_in(page, f"{live_server.url}/phone/", "alice")
    expect(page.locator("h1")).to_have_text("No softphone for you")
    expect(page.locator("main")).to_contain_text("This user is not an agent")


def test_closing_the_page_says_offline(alice, chromium, live_server):
    page = open_phone(chromium, live_server)
    page.get_by_role("button", name="Go available").click()
    expect(page.locator("#phone-state")).to_have_text(re.compile("^Available"))
    page.close(run_before_unload=True)
    availability = eventually(
        lambda: Agent.objects.get(pk=alice.pk).availability, Availability.OFFLINE
    )
    assert availability == Availability.OFFLINE


@pytest.fixture
def alice_wrapping_up(alice):
    """Alice answered a queue's caller and wraps up for five more minutes."""
    now = timezone.now()
    caller = QueueCaller.objects.create(
        call_sid="CA" + "2" * 32,
        queue=QueueFactory(agents=[alice]),
        arrived_at=now - timedelta(minutes=3),
        outcome=CallerOutcome.ANSWERED,
        ended_at=now - timedelta(minutes=2),
        wait_seconds=60,
        agent=alice,
    )
    WrapUp.objects.create(
        agent=alice, caller=caller, started_at=now, ends_at=now + timedelta(minutes=5)
    )


def test_an_agent_wrapping_up_sees_until_when_and_ends_it(alice_wrapping_up, chromium, live_server):
    page = open_phone(chromium, live_server)
    page.get_by_role("button", name="Go available").click()

    expect(page.locator("#wrap-up")).to_be_visible()
    expect(page.locator("#wrap-up-until")).not_to_be_empty()
    page.get_by_role("button", name="Ready for calls").click()

    expect(page.locator("#wrap-up")).to_be_hidden()
    assert presence(page)["wrap_up_until"] is None
