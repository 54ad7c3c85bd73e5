"""Checks that stop the server before it serves something that cannot work."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import CheckMessage, Error, register

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
