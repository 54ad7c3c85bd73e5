"""The frame of every Twilio webhook view: only signed POSTs, read into a delivery (a typed
value; 400 for a malformed field), for this server's account only (403 for another), and 503
while the database is unreachable."""

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.deliveries.calls import InvalidCallback, parse_twilio_callback, single_values
from calls.deliveries.signatures import View, WebhookForm, twilio_signature_required

logger = logging.getLogger(__name__)

# A view that takes the parsed callback after the request.
CallbackView = Callable[..., HttpResponse]
V = TypeVar("V", bound=Callable[..., HttpResponse])


class Parsed(Protocol):
    @property
    def account_sid(self) -> str: ...


# Reads the form (and the query string we wrote into the URL) into a typed value.
Parser = Callable[[dict[str, str], dict[str, str], datetime], Parsed]


def _call_callback(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    return parse_twilio_callback(form, received_at=received_at)


def _parent_leg_callback(
    form: dict[str, str], query: dict[str, str], received_at: datetime
) -> Parsed:
    return parse_twilio_callback(form, received_at=received_at, takes_parent=False)


def twilio_callback(view: CallbackView, parse: Parser = _call_callback) -> View:
    """Pass the view the parsed request (its form read by twilio_signature_required); 400 for
    a malformed field, 403 for another account."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, form: WebhookForm, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            callback = parse(
                single_values(form.items()), single_values(request.GET.lists()), timezone.now()
            )
        except InvalidCallback as error:
            logger.warning("Refused a Twilio webhook: %s", error)
            return _plain(str(error), status=400)
        if callback.account_sid != settings.TWILIO_ACCOUNT_SID:
            logger.warning("Refused a webhook for account %s", callback.account_sid)
            return _plain("AccountSid is not this server's Twilio account.", status=403)
        return view(request, callback, *args, **kwargs)

    return wrapper


def twilio_webhook(view: CallbackView, parse: Parser = _call_callback) -> View:
    """Take only signed POSTs from Twilio, and pass the view the parsed request (a
    TwilioCallback unless another parser is given)."""
    return csrf_exempt(require_POST(twilio_signature_required(twilio_callback(view, parse))))


def twilio_webhook_parsed_by(parse: Parser) -> Callable[[CallbackView], View]:
    return functools.partial(twilio_webhook, parse=parse)


# The URLs Twilio requests for parent legs only (Voice URL, fallback, <Dial> action, end of
# a voicemail): a softphone can add any parameter to its call, ParentCallSid too, and must not
# join its leg to another family that way, so the parameter is ignored there.
parent_leg_webhook = twilio_webhook_parsed_by(_parent_leg_callback)


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


def _plain(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
