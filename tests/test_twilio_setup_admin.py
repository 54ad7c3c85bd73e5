"""The admin's Twilio setup page and sync actions, for supervisors only."""

import socket
import time

import pytest

from agents.models import PhoneNumber, TwimlApp
from agents.setup_admin import SYNC_ACTION
from tests.factories import UserFactory
from tests.twilio_account import PUBLIC_BASE_URL, RIGHT_URLS, configured_account
from voiceproject.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

SETUP_URL = "/admin/twilio-setup/"


@pytest.fixture
def supervisor_client(client):
    client.force_login(UserFactory(is_staff=True, groups=[SUPERVISORS]))
    return client


@pytest.fixture
def account(fake_twilio, settings):
    return configured_account(fake_twilio, settings)


def test_supervisor_sees_the_checks_and_what_a_sync_would_change(supervisor_client, account):
    other = account.fake.add_application("Sales", voice_url="https://old.example.com/voice")

    response = supervisor_client.get(SETUP_URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "OK</strong></td><td>credentials</td>" in page
    assert f"Would import TwiML App Sales ({other['sid']})" in page
    assert "Import and set these URLs in Twilio" in page
    assert account.fake.writes == []
    assert not TwimlApp.objects.filter(sid=other["sid"]).exists()


def test_the_admin_index_links_to_the_setup_page(supervisor_client):
    assert SETUP_URL.encode() in supervisor_client.get("/admin/").content


def test_confirming_imports_and_sets_the_urls(supervisor_client, account):
    other = account.fake.add_application("Sales", voice_url="https://old.example.com/voice")

    response = supervisor_client.post(SETUP_URL, {"confirm": "yes"}, follow=True)

    assert TwimlApp.objects.filter(sid=other["sid"]).exists()
    assert other["voice_url"] == f"{PUBLIC_BASE_URL}/twilio/voice/"
    shown = [str(message) for message in response.context["messages"]]
    assert f"Imported TwiML App Sales ({other['sid']})" in shown
    assert any(line.startswith("Updated TwiML App Sales") for line in shown)


def test_a_twilio_failure_is_shown_not_a_500(supervisor_client, account):
    account.fake.credentials.clear()

    response = supervisor_client.get(SETUP_URL)

    assert response.status_code == 200
    assert "FAIL</strong></td><td>credentials</td>" in response.content.decode()
    assert "Twilio could not be asked" in response.content.decode()


@pytest.fixture
def silent_twilio(settings):
    """A Twilio address that accepts connections and never answers a request."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        # Never accepted: the kernel completes the handshakes, nobody reads or replies.
        settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
        yield


def test_the_page_says_quickly_that_twilio_could_not_be_reached(
    supervisor_client, account, silent_twilio, settings
):
    # A background run's patience: 30 s per answer and four retries.
    settings.TWILIO_API_TIMEOUT = 30.0
    settings.TWILIO_API_RETRIES = 4

    started = time.monotonic()
    response = supervisor_client.get(SETUP_URL)
    took = time.monotonic() - started

    page = response.content.decode()
    assert response.status_code == 200
    assert took < 3
    assert "Twilio could not be reached." in page
    assert "no answer within 2 s" in page
    assert "Not read: Twilio could not be reached." in page


def test_an_analyst_may_not_open_the_setup_page(client, account):
    client.force_login(UserFactory(is_staff=True, groups=[ANALYSTS]))

    assert client.get(SETUP_URL).status_code == 403
    assert SETUP_URL.encode() not in client.get("/admin/").content


def test_app_action_shows_the_change_then_applies_it_to_the_selected_only(
    supervisor_client, account
):
    account.twilio_app["voice_url"] = "https://old.example.com/voice"
    untouched = account.fake.add_application("Sales", voice_url="https://old.example.com/voice")
    form = {
        "action": SYNC_ACTION,
        "_selected_action": [account.app.pk],
    }

    preview = supervisor_client.post("/admin/agents/twimlapp/", form)

    assert "Voice URL &#x27;https://old.example.com/voice&#x27; needs" in preview.content.decode()
    assert account.fake.writes == []

    supervisor_client.post("/admin/agents/twimlapp/", {**form, "confirm": "yes"})

    assert account.twilio_app["voice_url"] == RIGHT_URLS["voice_url"]
    assert untouched["voice_url"] == "https://old.example.com/voice"


def test_number_action_points_a_number_here(supervisor_client, account):
    account.twilio_number["voice_application_sid"] = ""
    form = {
        "action": SYNC_ACTION,
        "_selected_action": [PhoneNumber.objects.get().pk],
        "confirm": "yes",
    }

    response = supervisor_client.post("/admin/agents/phonenumber/", form, follow=True)

    assert {name: account.twilio_number[name] for name in RIGHT_URLS} == RIGHT_URLS
    assert any("Updated Number +14155550100" in str(m) for m in response.context["messages"])
