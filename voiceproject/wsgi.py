"""WSGI entry point for gunicorn."""

import io
import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

from voiceproject.checks import SERVING_TAG

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")

application = get_wsgi_application()
# gunicorn runs no system checks: refuse to start rather than answer 500 on every page. A
# failure raises SystemCheckError with the fix; success needs no line in every worker's log.
call_command("check", deploy=True, tags=[SERVING_TAG], stdout=io.StringIO())
