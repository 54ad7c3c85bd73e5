"""Accept a webhook only when Twilio signed it, on the URL Twilio requested."""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

# Twilio's form posts are a few kilobytes; anything far larger is not from Twilio.
WEBHOOK_MAX_BODY_BYTES = 64 * 1024


def public_url(request: HttpRequest, path: str) -> str:
    """Return the absolute URL Twilio uses for path on this server.

    TWILIO_WEBHOOK_BASE_URL wins when set (a proxy or tunnel that rewrites the host); otherwise
    the request's own scheme and host, which honour X-Forwarded-Proto/Host only when trusted.
    """
    if settings.TWILIO_WEBHOOK_BASE_URL:
        return settings.TWILIO_WEBHOOK_BASE_URL + path
    return request.build_absolute_uri(path)


def twilio_signature_required(view: View) -> View:
    """Answer 413 to oversized bodies and 403 to requests without a valid X-Twilio-Signature."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        declared_length = request.META.get("CONTENT_LENGTH") or "0"
        if not declared_length.isdigit() or int(declared_length) > WEBHOOK_MAX_BODY_BYTES:
            return _too_large()
        if len(request.body) > WEBHOOK_MAX_BODY_BYTES:
            return _too_large()
        if settings.TWILIO_VALIDATE_SIGNATURES and not _signed_by_twilio(request):
            return HttpResponseForbidden(
                "X-Twilio-Signature is missing or does not match.", content_type="text/plain"
            )
        return view(request, *args, **kwargs)

    return wrapper


def _signed_by_twilio(request: HttpRequest) -> bool:
    if not settings.TWILIO_AUTH_TOKEN:
        logger.error("TWILIO_AUTH_TOKEN is not set, so no Twilio webhook can be accepted.")
        return False
    signature = request.headers.get("X-Twilio-Signature", "")
    url = public_url(request, request.get_full_path())
    valid = RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature)
    if not valid:
        # The usual cause is a proxy hiding the URL Twilio used; the log says which one we tried.
        logger.warning("Refused a webhook with a bad signature for %s", url)
    return bool(valid)


def _too_large() -> HttpResponse:
    return HttpResponse(
        f"The body is larger than {WEBHOOK_MAX_BODY_BYTES} bytes.",
        status=413,
        content_type="text/plain",
    )
