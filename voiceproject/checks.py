"""Checks that stop the server before it serves something that cannot work, or is unsafe."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import CheckMessage, Error, Warning, register

# gunicorn runs no system checks by itself: voiceproject/wsgi.py runs the ones with this tag.
# They are deployment checks, so that `migrate` and `collectstatic` run before the files exist.
SERVING_TAG = "serving"
# Django's own rule for a key that is too weak to sign sessions and password resets with.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5


@register(SERVING_TAG, deploy=True)
def static_files_collected(**kwargs: object) -> list[CheckMessage]:
    """Refuse DEBUG=0 without collected static files: every page would answer 500.

    With DEBUG off the manifest storage looks every {% static %} up in the manifest that
    collectstatic writes, and raises for a missing entry.
    """
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    if manifest.is_file():
        return []
    return [
        Error(
            f"The collected static files are missing: there is no {manifest}.",
            hint="Run `python manage.py collectstatic --no-input` (with the same STATIC_ROOT) "
            "before starting the server, and again after every upgrade.",
            id="voiceproject.E001",
        )
    ]


@dataclass(frozen=True)
class Risk:
    """A setting production refuses unless ALLOW_UNSAFE names the risk (its name)."""

    name: str
    check_id: str
    taken: Callable[[], bool]
    problem: str


def _weak_secret_key() -> bool:
    key = settings.SECRET_KEY
    return (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith("django-insecure-")
    )


def _plain_http_base_url() -> bool:
    return any(
        url.startswith("http://")
        for url in (settings.PUBLIC_BASE_URL, settings.TWILIO_WEBHOOK_BASE_URL)
    )


RISKS = [
    Risk(
        "signatures-off",
        "voiceproject.E002",
        lambda: not settings.TWILIO_VALIDATE_SIGNATURES,
        "TWILIO_VALIDATE_SIGNATURES=0 lets anyone who can reach /twilio/ write calls",
    ),
    Risk(
        "any-host",
        "voiceproject.E003",
        lambda: "*" in settings.ALLOWED_HOSTS,
        "ALLOWED_HOSTS=* answers any Host header, so links in password reset mail can be "
        "made to point at another site; list this server's host names",
    ),
    Risk(
        "weak-secret-key",
        "voiceproject.E004",
        _weak_secret_key,
        f"SECRET_KEY is shorter than {SECRET_KEY_MIN_LENGTH} characters, has fewer than "
        f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones, or is Django's placeholder: "
        "sessions could be forged; set 50+ random characters",
    ),
    Risk(
        "plain-http-url",
        "voiceproject.E005",
        _plain_http_base_url,
        "PUBLIC_BASE_URL or TWILIO_WEBHOOK_BASE_URL is http://: Twilio would send call "
        "details in clear text; serve the site over HTTPS and use https://",
    ),
    Risk(
        "no-redis",
        "voiceproject.E006",
        lambda: not settings.CELERY_BROKER_URL,
        "REDIS_URL is not set: no worker or beat runs, so calls are never reconciled, "
        "recordings never expire and statistics are never rolled up",
    ),
]
RISK_NAMES = [risk.name for risk in RISKS]


@register(SERVING_TAG, deploy=True)
def unsafe_settings_refused(**kwargs: object) -> list[CheckMessage]:
    """Refuse, with DEBUG off, each setting that is unsafe in production, one line each.

    ALLOW_UNSAFE lets an operator who knows the risk (a closed network, a demo) accept it by
    name; an unknown name there is refused too, since a typo would accept nothing.
    """
    errors: list[CheckMessage] = [
        Error(
            f"ALLOW_UNSAFE names {name!r}, which is no risk this server knows: "
            f"use {', '.join(RISK_NAMES)}.",
            id="voiceproject.E007",
        )
        for name in settings.ALLOW_UNSAFE
        if name not in RISK_NAMES
    ]
    if settings.DEBUG:
        return errors
    return errors + [
        Error(
            f"{risk.problem}. Fix it, or set ALLOW_UNSAFE={risk.name} to accept the risk.",
            id=risk.check_id,
        )
        for risk in RISKS
        if risk.name not in settings.ALLOW_UNSAFE and risk.taken()
    ]


@register(deploy=True)
def proxy_addresses_trusted(**kwargs: object) -> list[CheckMessage]:
    """Warn behind a proxy (X-Forwarded-Proto trusted) that names no TRUSTED_PROXIES: every
    client then has the proxy's address, and one address's failed logins lock out everyone."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None or settings.TRUSTED_PROXIES:
        return []
    return [
        Warning(
            "TRUST_X_FORWARDED_PROTO is on but TRUSTED_PROXIES is empty: behind the proxy "
            "every client has the proxy's address, so LOGIN_ADDRESS_FAILURE_LIMIT failed "
            "logins from anyone lock everyone out.",
            hint="Set TRUSTED_PROXIES to the proxy's address, e.g. 127.0.0.1.",
            id="voiceproject.W001",
        )
    ]
