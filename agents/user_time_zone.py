"""Each user's own time zone, for the whole of her request: pages, CSV exports and the API
show times, read dates and count days and hours in it.

Pages get it from middleware (settings.PAGE_MIDDLEWARE: the hot paths never look it up). The
API gets it once DRF knows the user, which for a device token is only inside the view.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.views import APIView

from agents.selectors import user_time_zone


def user_time_zone_activate(*, user: AbstractBaseUser | AnonymousUser) -> None:
    """Speak the user's zone for the rest of this request; the server's when she has none."""
    zone = user_time_zone(user=user)
    if zone is None:
        timezone.deactivate()
    else:
        timezone.activate(zone)


def user_time_zone_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Activate the logged-in user's zone for her request: one query, none for anonymous
    visitors."""

    def middleware(request: HttpRequest) -> HttpResponse:
        try:
            user_time_zone_activate(user=request.user)
        except DatabaseError:
            # Without the database the view answers for itself (the health check with its
            # 503); until then, times are the server's.
            timezone.deactivate()
        try:
            return get_response(request)
        finally:
            # The thread's next request, a webhook maybe, starts in the server's zone. A
            # streamed body is written after this: what it needs of the zone it takes before.
            timezone.deactivate()

    return middleware


class UserTimeZoneApiView(APIView):
    """An API view that answers in its user's zone, device tokens' users included (the page
    middleware, which also ends the zone, ran before the token was read)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user_time_zone_activate(user=request.user)
