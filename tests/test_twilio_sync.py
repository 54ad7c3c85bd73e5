"""manage.py twilio_sync: import the account's apps and numbers, then point them here."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import PhoneNumber, TwimlApp
from tests.factories import TwimlAppFactory
from tests.twilio_account import PUBLIC_BASE_URL, RIGHT_URLS, configured_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_url(settings, fake_twilio):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    return fake_twilio


def sync(*arguments: str) -> str:
    output = StringIO()
    call_command("twilio_sync", *arguments, stdout=output)
    return output.getvalue()


def test_sync_imports_the_accounts_apps_and_numbers(public_url):
    app = public_url.add_application("Support", voice_url="https://old.example.com/voice")
    public_url.add_number("+14155550123", voice_application_sid=app["sid"])

    output = sync()

    assert TwimlApp.objects.get(sid=app["sid"]).friendly_name == "Support"
    assert PhoneNumber.objects.filter(number="+14155550123").exists()
    assert f"Imported TwiML App Support ({app['sid']})" in output
    assert "Imported Number +14155550123" in output


def test_sync_never_deletes_or_renames_ours(public_url):
    ours = TwimlAppFactory(friendly_name="Our name")
    twilio_app = public_url.add_application("Twilio's name", **RIGHT_URLS)
    TwimlAppFactory(sid=twilio_app["sid"], friendly_name="Kept")

    output = sync()

    assert TwimlApp.objects.filter(pk=ours.pk).exists()
    assert TwimlApp.objects.get(sid=twilio_app["sid"]).friendly_name == "Kept"
    assert f"TwiML App {ours} is not in the Twilio account" in output


def test_sync_without_apply_shows_the_wrong_urls_and_changes_nothing(public_url):
    app = public_url.add_application("Support", voice_url="https://old.example.com/voice")

    output = sync()

    assert (
        f"TwiML App Support ({app['sid']}): Voice URL 'https://old.example.com/voice' "
        f"needs '{PUBLIC_BASE_URL}/twilio/voice/'"
    ) in output
    assert "Fallback URL '(empty)' needs" in output
    assert "1 to change: run again with --apply" in output
    assert public_url.writes == []
    assert app["voice_url"] == "https://old.example.com/voice"


def test_sync_apply_sets_every_url_of_apps_and_direct_numbers(public_url):
    app = public_url.add_application("Support", voice_url="https://old.example.com/voice")
    number = public_url.add_number("+14155550123", voice_url="https://old.example.com/voice")

    output = sync("--apply")

    for resource in (app, number):
        assert {name: resource[name] for name in RIGHT_URLS} == RIGHT_URLS
        assert resource["voice_method"] == resource["status_callback_method"] == "POST"
    assert f"Updated TwiML App Support ({app['sid']}): Voice URL" in output
    assert f"Updated Number +14155550123 ({number['sid']})" in output
    assert sync().count("every URL points here") == 2


def test_sync_leaves_a_number_answered_by_our_app_alone(public_url):
    app = public_url.add_application("Support", **RIGHT_URLS)
    number = public_url.add_number("+14155550123", voice_application_sid=app["sid"])

    output = sync("--apply")

    assert f"Number +14155550123 ({number['sid']}): answered by TwiML App {app['sid']}" in output
    assert public_url.writes == []


def test_sync_apply_creates_a_twiml_app_when_the_account_has_none(public_url):
    output = sync("--apply")

    [created] = public_url.applications()
    assert {name: created[name] for name in RIGHT_URLS} == RIGHT_URLS
    assert TwimlApp.objects.get(sid=created["sid"]).friendly_name == "Voice server"
    assert f"Created TwiML App Voice server ({created['sid']})" in output


def test_sync_without_apply_only_says_it_would_create_an_app(public_url):
    output = sync()

    assert "The account has no TwiML App: applying creates 'Voice server'" in output
    assert public_url.applications() == []


def test_webhook_base_url_wins_over_the_public_one(public_url, settings):
    settings.TWILIO_WEBHOOK_BASE_URL = "https://abc123.ngrok-free.app"
    app = public_url.add_application("Support")

    sync("--apply")

    assert app["voice_url"] == "https://abc123.ngrok-free.app/twilio/voice/"


def test_sync_refuses_without_a_public_base_url(fake_twilio, settings):
    settings.PUBLIC_BASE_URL = settings.TWILIO_WEBHOOK_BASE_URL = ""

    with pytest.raises(CommandError, match="Set PUBLIC_BASE_URL"):
        sync()


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (["TWILIO_ACCOUNT_SID"], "Not set: TWILIO_ACCOUNT_SID."),
        (["TWILIO_API_KEY_SECRET"], "Not set: TWILIO_API_KEY_SECRET."),
        (
            ["TWILIO_API_KEY_SID", "TWILIO_AUTH_TOKEN"],
            "Not set: TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET (or TWILIO_AUTH_TOKEN).",
        ),
    ],
)
def test_sync_without_credentials_names_them_and_asks_twilio_nothing(
    public_url, settings, missing, named
):
    for name in missing:
        setattr(settings, name, "")

    with pytest.raises(CommandError, match=re.escape(named)):
        sync()
    assert public_url.requests == []


def test_sync_names_refused_credentials(public_url):
    public_url.credentials.clear()

    with pytest.raises(CommandError, match="Twilio refused the credentials"):
        sync()


def test_a_configured_account_needs_no_change(fake_twilio, settings):
    configured_account(fake_twilio, settings)

    output = sync("--apply")

    assert "Every URL points here." in output
    assert fake_twilio.writes == []
