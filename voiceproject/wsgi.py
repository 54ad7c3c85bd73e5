"""WSGI entry point for gunicorn: the hot paths through lean handlers (voiceproject.handlers)."""

import gc

from django.core.wsgi import get_wsgi_application

from voiceproject.startup import serving_checks_passed_or_exit

# A WSGI server runs no system checks: refuse to start rather than answer 500 on every page,
# with one line per problem. gunicorn runs them once in its master (gunicorn.conf.py) first,
# since a worker that exits is only started again; here they cover any other server.
serving_checks_passed_or_exit()

full_application = get_wsgi_application()

from voiceproject.handlers import hot_path_application  # noqa: E402  (needs django.setup())

application = hot_path_application(full=full_application)
# Everything loaded so far lives as long as the process: keep it out of the collector's full
# passes, which otherwise walk Django's, DRF's and the admin's objects every time and stall
# every thread of the process meanwhile (the tail of the hot paths' latency).
gc.freeze()
