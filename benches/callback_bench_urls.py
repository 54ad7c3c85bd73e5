"""The project's URLs plus a view that only answers 204: the framework floor.

It runs under the same server, middleware and settings as the webhooks, so the difference
between the two is the cost of our own code.
"""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare_204(request):
    return HttpResponse(status=204)


urlpatterns = [
    path("bench/bare/", bare_204),
    path("", include("voiceproject.urls")),
]
