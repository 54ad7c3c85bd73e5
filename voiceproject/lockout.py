"""The answer to a login refused because of too many failures (django-axes' lockout)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import status


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
