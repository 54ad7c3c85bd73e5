"""Login lockouts (django-axes): who is locked out, the answer they get, and the lift.

Failures count per username and client address together, so that a stranger guessing at a
user's password locks out only himself, never her from her own address; and per address
alone, with a ceiling well above, so that one address cannot guess at many usernames.
"""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.utils import reset
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import status


class LoginFailureHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit of its own for the address alone.

    axes compares one number with AXES_FAILURE_LIMIT. That number is the failures of this
    username from this address, or the limit itself once this address has reached
    LOGIN_ADDRESS_FAILURE_LIMIT failures across every username.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        # In the order of AXES_LOCKOUT_PARAMETERS: username and address, then address.
        by_username_and_address, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if by_address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(by_username_and_address, settings.AXES_FAILURE_LIMIT)
        return by_username_and_address


def login_lockouts_lift(*, username: str) -> int:
    """Forget the failed logins of this username, from every address: its lockouts end.
    Returns how many attempt rows were removed."""
    return int(reset(username=username))


def login_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: object
) -> HttpResponse:
    """Keep the API's own JSON 429; show the login pages a page that says what happened."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/locked_out.html",
        {"lockout_minutes": minutes},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )
