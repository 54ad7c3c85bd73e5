"""The framework's floor for both benchmarks: a bare Django application.

Its own settings (this module): no middleware, no installed apps, no database; one view that
parses the POST and answers 204. Served by `gunicorn -w 2` sync workers beside ours:

    DJANGO_SETTINGS_MODULE=benches.bare_django \\
        gunicorn 'django.core.wsgi:get_wsgi_application()' -w 2
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

DEBUG = False
SECRET_KEY = "bare-django-floor"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = __name__
WSGI_APPLICATION = None
MIDDLEWARE: list[str] = []
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
APPLICATION = "django.core.wsgi:get_wsgi_application()"
PATH = "/bare/"


def bare(request: HttpRequest) -> HttpResponse:
    request.POST  # noqa: B018  (parsing the form is part of the floor)
    return HttpResponse(status=204)


urlpatterns = [path(PATH.strip("/") + "/", bare)]
