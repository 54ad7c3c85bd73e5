"""WSGI entry point for gunicorn: the hot paths through lean handlers (voiceproject.handlers)."""

import gc
import io
import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

from voiceproject.checks import SERVING_TAG

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")

full_application = get_wsgi_application()

from voiceproject.handlers import hot_path_application  # noqa: E402  (needs django.setup())

application = hot_path_application(full=full_application)
# gunicorn runs no system checks: refuse to start rather than answer 500 on every page. A
# failure raises SystemCheckError with the fix; success needs no line in every worker's log.
call_command("check", deploy=True, tags=[SERVING_TAG], stdout=io.StringIO())
# Everything loaded so far lives as long as the process: keep it out of the collector's full
# passes, which otherwise walk Django's, DRF's and the admin's objects every time and stall
# every thread of the process meanwhile (the tail of the hot paths' latency).
gc.freeze()
