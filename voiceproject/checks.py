"""Checks that stop the server before it serves something that cannot work."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import CheckMessage, Error, Warning, register

# gunicorn runs no system checks by itself: voiceproject/wsgi.py runs the ones with this tag.
# They are deployment checks, so that `migrate` and `collectstatic` run before the files exist.
SERVING_TAG = "serving"


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
