"""The URLs Twilio requests: the Voice URL, the Voice Fallback URL and status callbacks.

Each view checks the signature, reads the form into a TwilioCallback, calls one service and
answers; rules about calls live in calls.call_table, TwiML in calls.webhooks.twiml.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.call_table import call_apply_callback
from calls.webhooks.callbacks import (
    InvalidCallback,
    TwilioCallback,
    parse_twilio_callback,
    single_values,
)
from calls.webhooks.signatures import View, public_url, twilio_signature_required
from calls.webhooks.twiml import twiml_apology, twiml_for_voice_request

logger = logging.getLogger(__name__)

# A view that takes the parsed callback after the request.
CallbackView = Callable[..., HttpResponse]
V = TypeVar("V", bound=Callable[..., HttpResponse])


def twilio_callback(view: CallbackView, *, takes_parent: bool) -> View:
    """Pass the view a TwilioCallback; 400 for a malformed field, 403 for another account."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            callback = parse_twilio_callback(
                single_values(request.POST), received_at=timezone.now(), takes_parent=takes_parent
            )
        except InvalidCallback as error:
            logger.warning("Refused a Twilio webhook: %s", error)
            return _plain(str(error), status=400)
        if callback.account_sid != settings.TWILIO_ACCOUNT_SID:
            logger.warning("Refused a webhook for account %s", callback.account_sid)
            return _plain("AccountSid is not this server's Twilio account.", status=403)
        return view(request, callback, *args, **kwargs)

    return wrapper


def twilio_webhook(view: CallbackView, *, takes_parent: bool = True) -> View:
    """Take only signed POSTs from Twilio, and pass the view the parsed TwilioCallback."""
    parsed = twilio_callback(view, takes_parent=takes_parent)
    return csrf_exempt(require_POST(twilio_signature_required(parsed)))


def parent_leg_webhook(view: CallbackView) -> View:
    """twilio_webhook for the URLs Twilio requests for parent legs only: ParentCallSid ignored."""
    return twilio_webhook(view, takes_parent=False)


def retry_on_database_outage(view: V) -> V:
    """Answer 503 when the database is unreachable, so Twilio tries again or falls back."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except OperationalError:
            logger.exception("Database unavailable while answering a Twilio webhook")
            return _plain("The database is unavailable; try again later.", status=503)

    return cast(V, wrapper)


@parent_leg_webhook
@retry_on_database_outage
def voice(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    call_apply_callback(callback=callback)
    status_callback_url = public_url(request, reverse("webhooks:status"))
    return _twiml(
        twiml_for_voice_request(callback=callback, status_callback_url=status_callback_url)
    )


@parent_leg_webhook
def voice_fallback(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    try:
        call_apply_callback(callback=callback)
    except OperationalError:
        # The caller still deserves the apology when the Voice URL failed for this reason.
        logger.exception("Database unavailable; Twilio error on %s not recorded", callback.call_sid)
    return _twiml(twiml_apology())


@twilio_webhook
@retry_on_database_outage
def status_callback(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    call_apply_callback(callback=callback)
    return HttpResponse(status=204)


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")


def _plain(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
