"""Settings read from the environment: production hardening, proxies, refusing bad values."""

import os
import re
import runpy
import secrets
import subprocess
import sys

import pytest
from django.conf import global_settings, settings
from django.core.exceptions import ImproperlyConfigured

pytestmark = pytest.mark.django_db

SETTINGS_FILE = settings.BASE_DIR / "voiceproject" / "settings.py"
# Variables a developer's shell may hold that would change what these tests read.
VARIABLES_UNDER_TEST = [
    "CALL_QUALITY_INTERVAL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "ALLOW_UNSAFE",
    "REDIS_URL",
    "HTTPS_ONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "TRUST_X_FORWARDED_PROTO",
    "TRUST_X_FORWARDED_HOST",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_API_KEY_SID",
    "TWILIO_REGION",
    "TWILIO_EDGE",
    "PUBLIC_BASE_URL",
    "STATIC_ROOT",
    "TWILIO_TOKEN_TTL",
    "CONN_MAX_AGE",
    "LOG_LEVEL",
    "TIME_ZONE",
    "CSRF_TRUSTED_ORIGINS",
    "TWILIO_VALIDATE_SIGNATURES",
    "TWILIO_WEBHOOK_BASE_URL",
    "TRUSTED_PROXIES",
    "TWILIO_DIAL_TIMEOUT",
    "TWILIO_API_BASE_URL",
    "TWILIO_API_TIMEOUT",
    "TWILIO_API_RETRIES",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "RECONCILE_PAGE_SIZE",
    "DEFAULT_PHONE_REGION",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
]
HTTPS_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "USE_X_FORWARDED_HOST",
]
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "production-" + "k" * 50}


@pytest.fixture
def read_settings(monkeypatch):
    """Run settings.py afresh under the given environment and return what it defines."""

    def read(**environment) -> dict:
        for name in VARIABLES_UNDER_TEST:
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return read


@pytest.fixture
def serve_with(settings):
    """Make the test client's server use the HTTPS settings of another environment."""

    def serve(values: dict):
        for name in HTTPS_SETTINGS:
            setattr(settings, name, values.get(name, getattr(global_settings, name)))

    return serve


def run_manage(*arguments, **environment) -> subprocess.CompletedProcess:
    """Start manage.py the way a server starts: a new process reading the environment."""
    return run_python("manage.py", *arguments, **environment)


def run_python(*arguments, **environment) -> subprocess.CompletedProcess:
    """Run Python in the project with this environment, no variable under test inherited."""
    env = {name: value for name, value in os.environ.items() if name not in VARIABLES_UNDER_TEST}
    env.update(environment)
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deploy_check_without_warnings(tmp_path):
    # What collectstatic leaves: the manifest the start-up check looks for.
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        STATIC_ROOT=str(tmp_path),
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_sqlite_passes_the_database_checks_without_warnings(tmp_path):
    result = run_manage(
        "check",
        "--database",
        "default",
        "--fail-level",
        "WARNING",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "W040" not in result.stdout + result.stderr


def test_the_deploy_check_warns_behind_a_proxy_whose_address_is_not_trusted(tmp_path):
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    production = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
                  "STATIC_ROOT": str(tmp_path), "TRUST_X_FORWARDED_PROTO": "1",
                  "REDIS_URL": "redis://127.0.0.1:6379/0"}  # fmt: skip

    untrusted = run_manage("check", "--deploy", "--fail-level", "WARNING", **production)
    trusted = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", TRUSTED_PROXIES="127.0.0.1", **production
    )

    assert untrusted.returncode != 0
    assert "TRUSTED_PROXIES is empty" in untrusted.stderr
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "TWILIO_TOKEN_TTL",
            "999999",
            "TWILIO_TOKEN_TTL must be between 60 and 86400; got 999999.",
        ),
        ("TWILIO_VALIDATE_SIGNATURES", "flase", "TWILIO_VALIDATE_SIGNATURES must be one of 1/0"),
        ("TWILIO_API_RETRIES", "-1", "TWILIO_API_RETRIES must be between 0 and 20; got -1."),
    ],
)
def test_a_malformed_variable_stops_the_server_at_start_up_with_one_line(variable, value, message):
    result = run_manage("check", **{variable: value})

    assert result.returncode == 1
    assert result.stderr.startswith(f"Configuration error: {message}")
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_production_redirects_to_https_with_hsts_and_secure_cookies(
    read_settings, serve_with, client
):
    values = read_settings(**PRODUCTION)
    serve_with(values)

    plain = client.get("/login/")
    secure = client.get("/login/", secure=True)

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/login/"
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert values["SESSION_COOKIE_SECURE"]
    assert values["CSRF_COOKIE_SECURE"]


def test_production_health_check_answers_plain_http(read_settings, serve_with, client):
    serve_with(read_settings(**PRODUCTION))

    assert client.get("/healthz").status_code == 200


def test_https_only_0_serves_plain_http_in_production(read_settings, serve_with, client):
    values = read_settings(**PRODUCTION, HTTPS_ONLY="0")
    serve_with(values)

    response = client.get("/login/")

    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    assert not values.get("SESSION_COOKIE_SECURE")


def test_local_defaults_serve_plain_http(read_settings):
    values = read_settings()

    assert values["DEBUG"] is True
    assert values["HTTPS_ONLY"] is False
    assert "SECURE_SSL_REDIRECT" not in values


def test_forwarded_proto_is_ignored_unless_trusted(read_settings, serve_with, client):
    serve_with(read_settings(**PRODUCTION))

    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 301


def test_trusted_forwarded_proto_marks_requests_secure(read_settings, serve_with, client):
    serve_with(read_settings(**PRODUCTION, TRUST_X_FORWARDED_PROTO="1"))

    forwarded = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    plain = client.get("/login/", headers={"X-Forwarded-Proto": "http"})

    assert forwarded.status_code == 200
    assert plain.status_code == 301


def test_trusted_forwarded_host_is_the_host_redirected_to(
    read_settings, serve_with, client, settings
):
    settings.ALLOWED_HOSTS = ["voice.example.com"]
    serve_with(read_settings(**PRODUCTION, TRUST_X_FORWARDED_HOST="1"))

    response = client.get("/login/", headers={"X-Forwarded-Host": "voice.example.com"})

    assert response["Location"] == "https://voice.example.com/login/"


def test_twilio_settings_default_to_a_one_hour_token_and_no_region(read_settings):
    values = read_settings()

    assert values["TWILIO_TOKEN_TTL"] == 3600
    assert values["TWILIO_TOKEN_MAX_TTL"] == 86400
    assert values["TWILIO_REGION"] == ""


def test_postgresql_connections_are_kept_open_and_checked_before_reuse(read_settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://voice:secret@db.internal:5432/voice")

    database = read_settings(CONN_MAX_AGE="120")["DATABASES"]["default"]

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"]) == ("db.internal", "voice")
    assert database["CONN_MAX_AGE"] == 120
    assert database["CONN_HEALTH_CHECKS"] is True


def test_connection_health_checks_can_be_turned_off(read_settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://voice:secret@db.internal:5432/voice")

    database = read_settings(CONN_HEALTH_CHECKS="0")["DATABASES"]["default"]

    assert database["CONN_HEALTH_CHECKS"] is False


def test_without_database_url_the_database_is_a_local_sqlite_file(read_settings, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)

    database = read_settings()["DATABASES"]["default"]

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(settings.BASE_DIR / "db.sqlite3")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be one of 1/0, true/false, yes/no, on/off; got 'maybe'."),
        ({"DEBUG": "0"}, "SECRET_KEY must be set when DEBUG is off."),
        ({"HTTPS_ONLY": "2"}, "HTTPS_ONLY must be one of"),
        ({"TRUST_X_FORWARDED_PROTO": "https"}, "TRUST_X_FORWARDED_PROTO must be one of"),
        ({"TWILIO_TOKEN_TTL": "1h"}, "TWILIO_TOKEN_TTL must be a whole number; got '1h'."),
        ({"TWILIO_TOKEN_TTL": "86401"}, "TWILIO_TOKEN_TTL must be between 60 and 86400"),
        ({"TWILIO_TOKEN_TTL": "59"}, "TWILIO_TOKEN_TTL must be between 60 and 86400"),
        ({"TWILIO_REGION": "Ireland"}, "TWILIO_REGION must be one of us1, ie1, au1"),
        ({"TWILIO_REGION": "ie1", "TWILIO_EDGE": "sydney"}, "TWILIO_EDGE 'sydney' does not"),
        ({"TWILIO_EDGE": "atlantis"}, "TWILIO_EDGE 'atlantis' does not reach region us1"),
        ({"PUBLIC_BASE_URL": "voice.example.com"}, "PUBLIC_BASE_URL must be a https:// or http://"),
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID must be 'AC' followed by 32"),
        ({"TWILIO_API_KEY_SID": "AC" + "0" * 32}, "TWILIO_API_KEY_SID must be 'SK' followed"),
        (
            {"CONN_MAX_AGE": "-1", "DATABASE_URL": "postgres://voice@db.internal/voice"},
            "CONN_MAX_AGE must be >= 0; got -1.",
        ),
        ({"SECURE_HSTS_SECONDS": "a year", **PRODUCTION}, "SECURE_HSTS_SECONDS must be a whole"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        # One of each kind of reader: bool, int, float, choice, SID, URL, list.
        ({"TWILIO_VALIDATE_SIGNATURES": "flase"}, "TWILIO_VALIDATE_SIGNATURES must be one of"),
        ({"TWILIO_DIAL_TIMEOUT": "601"}, "TWILIO_DIAL_TIMEOUT must be between 5 and 600"),
        ({"TWILIO_API_RETRIES": "-1"}, "TWILIO_API_RETRIES must be between 0 and 20; got -1."),
        ({"RECONCILE_PAGE_SIZE": "1001"}, "RECONCILE_PAGE_SIZE must be between 1 and 1000"),
        ({"TWILIO_API_TIMEOUT": "soon"}, "TWILIO_API_TIMEOUT must be a number; got 'soon'."),
        ({"TWILIO_API_TIMEOUT": "nan"}, "TWILIO_API_TIMEOUT must be a finite number"),
        ({"TWILIO_API_TIMEOUT": "0"}, "TWILIO_API_TIMEOUT must be between 0.1 and 600"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE must be "),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis:// or rediss:// URL"),
        ({"CELERY_BROKER_URL": "amqp://rabbit"}, "CELERY_BROKER_URL must be a redis://"),
        (
            {"TWILIO_WEBHOOK_BASE_URL": "https://voice.example.com/twilio"},
            "TWILIO_WEBHOOK_BASE_URL must be a scheme and host only",
        ),
        ({"TWILIO_API_BASE_URL": "api.twilio.com"}, "TWILIO_API_BASE_URL must be a https://"),
        ({"DATABASE_URL": "mysql://db/voice"}, "DATABASE_URL must be a sqlite://"),
        ({"CSRF_TRUSTED_ORIGINS": "voice.example.com"}, "CSRF_TRUSTED_ORIGINS has a malformed"),
        ({"DEFAULT_PHONE_REGION": "XX"}, "DEFAULT_PHONE_REGION must be AC, AD, AE"),
        ({"EMAIL_USE_SSL": "1", "EMAIL_USE_TLS": "1"}, "Set EMAIL_USE_TLS or EMAIL_USE_SSL, not"),
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT must be between 1 and 65535"),
        ({"STREAMS_PER_USER": "0"}, "STREAMS_PER_USER must be between 1 and 100"),
        ({"STREAM_TIME_LIMIT": "4"}, "STREAM_TIME_LIMIT must be between 5 and 86400"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES has '10.0.0.0/33', which is"),
    ],
)
def test_bad_values_stop_start_up_with_a_message_naming_the_variable(
    read_settings, environment, message
):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        read_settings(**environment)


def test_well_formed_values_of_each_kind_are_read(read_settings):
    values = read_settings(
        TWILIO_VALIDATE_SIGNATURES="off",
        TWILIO_API_RETRIES="0",
        TWILIO_API_TIMEOUT="2.5",
        LOG_LEVEL="warning",
        TIME_ZONE="Europe/Paris",
        REDIS_URL="redis://cache.internal:6379/2",
        TWILIO_WEBHOOK_BASE_URL="https://voice.example.com/",
        CSRF_TRUSTED_ORIGINS="https://voice.example.com, https://*.example.org",
        TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8, ::1",
    )

    assert values["TWILIO_VALIDATE_SIGNATURES"] is False
    assert values["TWILIO_API_RETRIES"] == 0
    assert values["TWILIO_API_TIMEOUT"] == 2.5
    assert values["LOG_LEVEL"] == "WARNING"
    assert values["TIME_ZONE"] == "Europe/Paris"
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6379/2"
    assert values["TWILIO_WEBHOOK_BASE_URL"] == "https://voice.example.com"
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://voice.example.com", "https://*.example.org"]
    assert [str(network) for network in values["TRUSTED_PROXIES"]] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]


def test_mail_is_printed_unless_an_smtp_host_is_set(read_settings):
    printed = read_settings()
    sent = read_settings(EMAIL_HOST="smtp.example.com", EMAIL_USE_SSL="1", EMAIL_PORT="465")

    assert printed["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert sent["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (sent["EMAIL_USE_SSL"], sent["EMAIL_USE_TLS"], sent["EMAIL_PORT"]) == (True, False, 465)


def test_the_phone_region_is_read_in_any_case(read_settings):
    assert read_settings()["DEFAULT_PHONE_REGION"] == "US"
    assert read_settings(DEFAULT_PHONE_REGION="gb")["DEFAULT_PHONE_REGION"] == "GB"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("Off", False)])
def test_booleans_accept_the_usual_spellings(read_settings, value, expected):
    assert read_settings(TRUST_X_FORWARDED_HOST=value)["USE_X_FORWARDED_HOST"] is expected


def test_the_demo_app_is_installed_only_while_debug_is_on(read_settings):
    assert "demo" in read_settings()["INSTALLED_APPS"]
    assert "demo" not in read_settings(**PRODUCTION)["INSTALLED_APPS"]


def test_beat_sweeps_call_quality_every_five_minutes_unless_turned_off(read_settings):
    sweep = read_settings()["CELERY_BEAT_SCHEDULE"]["call-quality-sweep"]
    assert (sweep["task"], sweep["schedule"]) == ("calls.tasks.call_quality_sweep", 300)

    assert (
        "call-quality-sweep" not in read_settings(CALL_QUALITY_INTERVAL="0")["CELERY_BEAT_SCHEDULE"]
    )
