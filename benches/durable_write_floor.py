"""The callback benchmark's second reference: bare Django that stores each callback.

Its own settings (this module): no middleware, no installed apps; one view that parses the
POST, inserts its body as one row of a one-column table (autocommit, so each request commits
and waits for the commit to be on disk, as ours does) and answers 204. Served exactly as ours
is, by gunicorn with our gunicorn.conf.py and `-w 2`, against the same PostgreSQL, so that the
gap between the two is what our callback does beyond one durable write: the signature, the
parsing, the call table's upsert with its indexes and triggers, the CallEvent.

    DATABASE_URL=postgres://... DJANGO_SETTINGS_MODULE=benches.durable_write_floor \\
        gunicorn 'django.core.wsgi:get_wsgi_application()' -w 2
"""

import environ
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

# bare Django's settings, but for the URLs and the database.
from benches.bare_django import (  # noqa: F401  (settings read by Django)
    ALLOWED_HOSTS,
    DEBUG,
    INSTALLED_APPS,
    MIDDLEWARE,
    SECRET_KEY,
    USE_TZ,
    WSGI_APPLICATION,
)

ROOT_URLCONF = __name__
# As ours: persistent connections, one per thread. The benchmark sets DATABASE_URL when it
# serves this module; it also imports it for the names below, with no database.
DATABASES = {
    "default": {
        **environ.Env().db_url("DATABASE_URL", default="sqlite://:memory:"),
        "CONN_MAX_AGE": 60,
    }
}
APPLICATION = "django.core.wsgi:get_wsgi_application()"
PATH = "/stored/"
TABLE = "durable_write_floor"
CREATE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, body text NOT NULL)"
INSERT = f"INSERT INTO {TABLE} (body) VALUES (%s)"


def stored(request: HttpRequest) -> HttpResponse:
    request.POST  # noqa: B018  (parsing the form is part of the floor)
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [request.body.decode()])
    return HttpResponse(status=204)


urlpatterns = [path(PATH.strip("/") + "/", stored)]
