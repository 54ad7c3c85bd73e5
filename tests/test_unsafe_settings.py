"""Production (DEBUG off) refuses unsafe settings unless ALLOW_UNSAFE names the risk."""

import secrets

import pytest

from tests.test_settings import run_manage, run_python
from voiceproject.checks import unsafe_settings_refused

pytestmark = pytest.mark.django_db

# Each risk, the settings that take it, and the check that refuses it.
RISKY = [
    ("signatures-off", {"TWILIO_VALIDATE_SIGNATURES": False}, "voiceproject.E002"),
    ("any-host", {"ALLOWED_HOSTS": ["voice.example.com", "*"]}, "voiceproject.E003"),
    ("weak-secret-key", {"SECRET_KEY": "too-short"}, "voiceproject.E004"),
    ("weak-secret-key", {"SECRET_KEY": "ab" * 40}, "voiceproject.E004"),
    ("plain-http-url", {"PUBLIC_BASE_URL": "http://voice.example.com"}, "voiceproject.E005"),
    (
        "plain-http-url",
        {"TWILIO_WEBHOOK_BASE_URL": "http://abc.ngrok-free.app"},
        "voiceproject.E005",
    ),
    ("no-redis", {"CELERY_BROKER_URL": ""}, "voiceproject.E006"),
]


@pytest.fixture
def production(settings):
    """Safe production settings, which each test then makes unsafe in one way."""
    settings.DEBUG = False
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.ALLOWED_HOSTS = ["voice.example.com"]
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    settings.TWILIO_VALIDATE_SIGNATURES = True
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.ALLOW_UNSAFE = []
    return settings


def test_safe_production_settings_are_not_refused(production):
    assert unsafe_settings_refused() == []


@pytest.mark.parametrize(("risk", "changes", "check_id"), RISKY)
def test_each_unsafe_setting_is_refused_in_production_naming_its_override(
    production, risk, changes, check_id
):
    for name, value in changes.items():
        setattr(production, name, value)

    [error] = unsafe_settings_refused()

    assert error.id == check_id
    assert f"set ALLOW_UNSAFE={risk} to accept the risk" in error.msg
    assert "\n" not in error.msg
    assert error.hint is None


@pytest.mark.parametrize(("risk", "changes", "check_id"), RISKY)
def test_allow_unsafe_accepts_the_risk_it_names_and_only_that_one(
    production, risk, changes, check_id
):
    for name, value in changes.items():
        setattr(production, name, value)
    production.ALLOW_UNSAFE = [risk]
    assert unsafe_settings_refused() == []

    production.ALLOW_UNSAFE = [other for other, _, _ in RISKY if other != risk]
    assert [error.id for error in unsafe_settings_refused()] == [check_id]


@pytest.mark.parametrize(("risk", "changes", "check_id"), RISKY)
def test_unsafe_settings_are_allowed_while_debug_is_on(production, risk, changes, check_id):
    for name, value in changes.items():
        setattr(production, name, value)
    production.DEBUG = True

    assert unsafe_settings_refused() == []


def test_an_unknown_risk_in_allow_unsafe_is_refused_listing_the_known_ones(production):
    production.ALLOW_UNSAFE = ["signature-off"]

    [error] = unsafe_settings_refused()

    assert error.id == "voiceproject.E007"
    assert error.msg.startswith("ALLOW_UNSAFE names 'signature-off', which is no risk")
    assert "signatures-off, any-host, weak-secret-key, plain-http-url, no-redis" in error.msg


UNSAFE_ENVIRONMENT = {
    "DEBUG": "0",
    "SECRET_KEY": "short",
    "ALLOWED_HOSTS": "*",
    "TWILIO_VALIDATE_SIGNATURES": "0",
    "PUBLIC_BASE_URL": "http://voice.example.com",
    "REDIS_URL": "",
}


def test_the_deploy_check_refuses_every_unsafe_setting_one_line_each(tmp_path):
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')

    result = run_manage("check", "--deploy", STATIC_ROOT=str(tmp_path), **UNSAFE_ENVIRONMENT)

    assert result.returncode == 1
    refused = [line for line in result.stderr.splitlines() if "(voiceproject.E" in line]
    assert [line.split(")")[0] for line in refused] == [
        f"?: (voiceproject.E00{number}" for number in range(2, 7)
    ]
    assert "Traceback" not in result.stderr


def test_the_deploy_check_passes_when_allow_unsafe_names_every_risk(tmp_path):
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')

    result = run_manage(
        "check",
        "--deploy",
        STATIC_ROOT=str(tmp_path),
        **UNSAFE_ENVIRONMENT,
        ALLOW_UNSAFE="signatures-off,any-host,weak-secret-key,plain-http-url,no-redis",
    )

    assert result.returncode == 0, result.stderr
    assert "(voiceproject.E" not in result.stderr


def test_the_web_server_refuses_to_start_with_one_line_per_unsafe_setting(tmp_path):
    """What gunicorn and any WSGI server load: voiceproject.wsgi, before serving anything."""
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')

    result = run_python(
        "-c", "import voiceproject.wsgi", STATIC_ROOT=str(tmp_path), **UNSAFE_ENVIRONMENT
    )

    assert result.returncode == 1
    refusals = [line for line in result.stderr.splitlines() if line.startswith("Refusing")]
    assert len(refusals) == 5, result.stderr
    assert refusals[0] == (
        "Refusing to start: TWILIO_VALIDATE_SIGNATURES=0 lets anyone who can reach /twilio/ "
        "write calls. Fix it, or set ALLOW_UNSAFE=signatures-off to accept the risk. "
        "(voiceproject.E002)"
    )
    assert "Traceback" not in result.stderr
