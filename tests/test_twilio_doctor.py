"""manage.py twilio_doctor: one line per check, and every broken setup named with its fix."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents.doctor import Level, reconcile_findings, twilio_doctor
from agents.models import Agent, TwimlApp
from calls.models import InsightsRefusal, ReconcileRun
from tests.factories import AgentFactory, PhoneNumberFactory, TwimlAppFactory
from tests.twilio_account import VERIFIED_CALLER_ID, configured_account
from twilio_fakes.rest import Fault

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(fake_twilio, settings):
    return configured_account(fake_twilio, settings)


def findings_of(check: str) -> list[tuple[Level, str]]:
    return [(found.level, found.message) for found in twilio_doctor() if found.check == check]


def failures() -> list[str]:
    return [str(found) for found in twilio_doctor() if found.level is Level.FAIL]


def run_doctor(*arguments: str) -> tuple[int, str]:
    output = StringIO()
    try:
        call_command("twilio_doctor", *arguments, stdout=output)
    except SystemExit as exit:
        return exit.code, output.getvalue()
    return 0, output.getvalue()


def reconciled(*, minutes_ago: int) -> None:
    """Each scheduled reconciliation last completed this many minutes ago."""
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    for kind in [ReconcileRun.Kind.RECENT, ReconcileRun.Kind.STALE, ReconcileRun.Kind.RECORDINGS]:
        ReconcileRun.objects.create(kind=kind, outcome="succeeded", finished_at=finished)


def test_a_configured_account_passes_every_check(account):
    reconciled(minutes_ago=1)

    status, output = run_doctor()

    assert status == 0, output
    assert "FAIL" not in output
    # The one warning is the fake itself: REST requests go to TWILIO_API_BASE_URL.
    [warning] = [line for line in output.splitlines() if line.startswith("WARN")]
    assert "TWILIO_API_BASE_URL sends REST requests to http://127.0.0.1" in warning
    for check in [
        "public URL",
        "credentials",
        "API key",
        "TwiML Apps",
        "numbers",
        "push credentials",
        "caller IDs",
        "reconciliation",
        "call quality",
    ]:
        assert f"OK    {check}: " in output, check


def test_a_reconciliation_that_has_not_completed_for_three_intervals_is_a_warning(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    settings.RECONCILE_INTERVAL = 300
    settings.RECONCILE_STALE_INTERVAL = 3600
    reconciled(minutes_ago=16)

    findings = reconcile_findings()

    assert [(found.level, found.check) for found in findings] == [
        (Level.WARN, "reconciliation")
    ] * 2
    recent, recordings = (found.message for found in findings)
    assert recent.startswith("Recent reconciliation (every 300 s) has not completed since")
    assert recordings.startswith("Recent recordings reconciliation (every 300 s) has not")


def test_a_reconciliation_that_never_completed_is_a_warning(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    ReconcileRun.objects.create(kind=ReconcileRun.Kind.RECENT, outcome="failed")

    findings = reconcile_findings()

    assert any(
        found.level is Level.WARN
        and found.message.startswith("Recent reconciliation (every 300 s) has never completed")
        for found in findings
    )


def test_an_account_that_refused_insights_summaries_is_a_warning_saying_what_to_do(account):
    InsightsRefusal.objects.create(
        account_sid=account.fake.account_sid,
        status=403,
        code=20403,
        message="Voice Insights Advanced Features are not enabled for this account.",
        call_sid="CA" + "0" * 32,
    )

    [(level, message)] = findings_of("call quality")

    assert level is Level.WARN
    assert "HTTP 403, error 20403: Voice Insights Advanced Features are not enabled" in message
    assert "Turn on Voice Insights Advanced Features" in message


def test_json_output_lists_each_finding_for_monitoring(account):
    account.fake.credentials.clear()

    status, output = run_doctor("--json")

    report = json.loads(output)
    assert status == 1
    assert report["ok"] is False
    [credentials] = [found for found in report["findings"] if found["check"] == "credentials"]
    assert credentials["level"] == "FAIL"


def test_a_wrong_secret_or_a_key_from_another_region_fails_naming_the_region(account, settings):
    settings.TWILIO_REGION, settings.TWILIO_EDGE = "ie1", "dublin"
    # The IE1 API does not know a key made in US1: it refuses it as it does a wrong secret.
    account.fake.credentials.discard((settings.TWILIO_API_KEY_SID, settings.TWILIO_API_KEY_SECRET))

    [(level, message)] = findings_of("credentials")

    assert level is Level.FAIL
    assert "Twilio's ie1 API (api.dublin.ie1.twilio.com) refused API key" in message
    assert "set TWILIO_REGION" in message
    assert "20101" in message


def test_missing_credentials_are_named_and_twilio_is_not_asked(account, settings):
    settings.TWILIO_API_KEY_SECRET = ""

    findings = twilio_doctor()

    assert [str(found) for found in findings if found.level is Level.FAIL] == [
        "FAIL  settings: TWILIO_API_KEY_SECRET is not set: set the secret shown once when "
        "the key was created."
    ]
    assert [str(found) for found in findings if found.message.startswith("Not checked")] == [
        f"WARN  {check}: Not checked: TWILIO_API_KEY_SECRET not set."
        for check in ["credentials", "TwiML Apps", "numbers", "push credentials", "caller IDs"]
    ]
    assert account.fake.requests == []


def test_a_suspended_account_fails(account):
    account.fake.account["status"] = "suspended"

    [(level, message), *_] = findings_of("credentials")

    assert level is Level.FAIL
    assert "is suspended: reactivate it" in message


def test_an_app_sid_the_account_lacks_fails(account):
    missing = TwimlAppFactory(friendly_name="Typo")

    assert (
        Level.FAIL,
        f"{missing} does not exist in the account: correct its SID in the admin.",
    ) in findings_of("TwiML Apps")


def test_an_app_whose_urls_point_elsewhere_fails_with_the_fix(account):
    account.twilio_app["voice_url"] = "https://old.example.com/voice"

    [(level, message)] = findings_of("TwiML Apps")

    assert level is Level.FAIL
    assert "Voice URL is 'https://old.example.com/voice', needs " in message
    assert "twilio_sync --apply" in message


def test_no_twiml_app_at_all_fails(fake_twilio, settings):
    configured_account(fake_twilio, settings)
    Agent.objects.all().delete()
    TwimlApp.objects.all().delete()

    [(level, message)] = findings_of("TwiML Apps")
    assert level is Level.FAIL
    assert "There is no TwiML App" in message


def test_a_number_pointing_elsewhere_fails(account):
    account.twilio_number["voice_application_sid"] = ""
    account.twilio_number["voice_url"] = "https://demo.twilio.com/welcome/voice/"

    [(level, message)] = findings_of("numbers")

    assert level is Level.FAIL
    assert message.startswith("+14155550100: Voice URL is 'https://demo.twilio.com/welcome/")


def test_a_number_answered_by_someone_elses_app_fails(account):
    other = account.fake.add_application("Someone else's")
    account.twilio_number["voice_application_sid"] = other["sid"]

    [(level, message)] = findings_of("numbers")

    assert level is Level.FAIL
    assert "which is not ours" in message


def test_a_number_the_account_lacks_fails(account):
    PhoneNumberFactory(number="+14155550177")

    assert (
        Level.FAIL,
        "+14155550177 is not one of the account's numbers: buy or port it, or delete it in "
        "the admin.",
    ) in findings_of("numbers")


def test_a_push_credential_in_the_wrong_platforms_field_fails(account):
    account.app.apn_credential_sid = account.app.fcm_credential_sid
    account.app.save()

    [(level, message), _] = findings_of("push credentials")

    assert level is Level.FAIL
    assert "APN credential" in message
    assert "is of type fcm, not for iOS" in message


def test_a_push_credential_that_does_not_exist_fails(account):
    account.fake.push_credentials.pop(account.app.fcm_credential_sid)

    [_, (level, message)] = findings_of("push credentials")

    assert level is Level.FAIL
    assert "does not exist: Android devices will not ring" in message


def test_a_sandbox_apn_credential_warns_in_production(account):
    account.fake.push_credentials[account.app.apn_credential_sid]["sandbox"] = "true"

    [(level, message), _] = findings_of("push credentials")

    assert level is Level.WARN
    assert "sandbox credential" in message


def test_a_caller_id_that_is_not_the_accounts_fails_with_13214(account):
    AgentFactory(identity="carol", twiml_app=account.app, caller_id="+16505550123")

    [(level, message)] = findings_of("caller IDs")

    assert level is Level.FAIL
    assert message.startswith("Agent carol's caller ID +16505550123 is neither")
    assert "13214" in message


def test_a_caller_id_marked_verified_that_twilio_does_not_list_fails(account):
    AgentFactory(
        identity="dave", twiml_app=account.app, caller_id="+16505550123", caller_id_verified=True
    )

    [(level, message)] = findings_of("caller IDs")

    assert level is Level.FAIL
    assert "nor a verified caller ID although marked verified in the admin" in message


def test_a_caller_id_marked_verified_that_twilio_lists_passes(account):
    AgentFactory(twiml_app=account.app, caller_id=VERIFIED_CALLER_ID, caller_id_verified=True)

    assert findings_of("caller IDs") == [
        (Level.OK, "Every agent's caller ID belongs to the account.")
    ]


def test_a_caller_id_that_is_one_of_the_accounts_numbers_passes(account):
    AgentFactory(twiml_app=account.app, caller_id="+14155550100")

    assert findings_of("caller IDs") == [
        (Level.OK, "Every agent's caller ID belongs to the account.")
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"PUBLIC_BASE_URL": ""}, "Set PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "http://voice.example.com"}, "is not HTTPS"),
        ({"ALLOWED_HOSTS": ["other.example.com"]}, "voice.example.com is not in ALLOWED_HOSTS"),
        ({"SECURE_PROXY_SSL_HEADER": None}, "set TRUST_X_FORWARDED_PROTO=1"),
        (
            {"TWILIO_WEBHOOK_BASE_URL": "https://abc.ngrok-free.app"},
            "TWILIO_WEBHOOK_BASE_URL (https://abc.ngrok-free.app) differs from PUBLIC_BASE_URL",
        ),
    ],
)
def test_public_url_problems_are_named(account, settings, changes, expected):
    for name, value in changes.items():
        setattr(settings, name, value)

    messages = [message for _, message in findings_of("public URL")]

    assert any(expected.lower() in message.lower() for message in messages), messages


@pytest.mark.parametrize(
    ("changes", "level", "expected"),
    [
        ({"TWILIO_VALIDATE_SIGNATURES": False}, Level.FAIL, "TWILIO_VALIDATE_SIGNATURES=0"),
        ({"CELERY_BROKER_URL": ""}, Level.WARN, "No REDIS_URL"),
    ],
)
def test_contradicting_settings_are_named(account, settings, changes, level, expected):
    for name, value in changes.items():
        setattr(settings, name, value)

    assert any(
        found_level is level and expected in message
        for found_level, message in findings_of("settings")
    )


def test_a_check_twilio_fails_leaves_every_other_check_reported(account, settings):
    settings.TWILIO_API_RETRIES = 0
    # The account and key fetches are answered, the TwiML App's fetch fails, the rest answer.
    account.fake.faults.extend([Fault(None), Fault(None), Fault(500)])

    findings = {found.check: found for found in twilio_doctor()}

    assert findings["TwiML Apps"].level is Level.FAIL
    assert findings["TwiML Apps"].message.startswith("Not checked: Twilio did not answer:")
    assert "HTTP 500" in findings["TwiML Apps"].message
    for check in ["numbers", "push credentials", "caller IDs"]:
        assert findings[check].level is Level.OK, findings[check]


def test_twilio_out_of_reach_names_every_check_it_could_not_run(account, settings):
    settings.TWILIO_API_RETRIES = 0
    account.fake.stop()

    findings = twilio_doctor()

    [credentials] = [found for found in findings if found.check == "credentials"]
    assert credentials.level is Level.FAIL
    assert credentials.message.startswith("Twilio could not be asked: Twilio API unavailable")
    assert [str(found) for found in findings if found.message.startswith("Not checked")] == [
        f"WARN  {check}: Not checked: the credentials check failed."
        for check in ["TwiML Apps", "numbers", "push credentials", "caller IDs"]
    ]


def test_the_public_url_check_says_it_cannot_see_whether_twilio_reaches_us(account):
    [(level, message)] = findings_of("public URL")

    assert level is Level.OK
    assert "Whether Twilio reaches it is not checked from here" in message
    assert "reaches this server at" not in message
