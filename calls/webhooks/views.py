"""The URLs Twilio requests: the Voice URL, its fallback, status callbacks, our <Dial>
action, the end of a voicemail and recording status callbacks.

Each view checks the signature, reads the form into a typed value, calls one service and
answers; rules about calls live in calls.call_table, about recordings in
calls.recordings.writer, TwiML in calls.webhooks.twiml and calls.webhooks.unanswered.
"""

import dataclasses
import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.call_table import call_apply_callback, call_record_dial_result
from calls.recordings.callbacks import RecordingCallback, parse_recording_callback
from calls.recordings.writer import recording_apply_callback
from calls.webhooks.callbacks import (
    InvalidCallback,
    TwilioCallback,
    parse_twilio_callback,
    single_values,
)
from calls.webhooks.destinations import with_dialled_destination
from calls.webhooks.signatures import (
    View,
    WebhookForm,
    public_url,
    twilio_signature_required,
)
from calls.webhooks.twiml import WebhookUrls, twiml_apology, twiml_for_voice_request
from calls.webhooks.unanswered import (
    DialAction,
    parse_dial_action,
    twiml_for_dial_action,
    twiml_voicemail_done,
)

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


def _dial_action(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    return parse_dial_action(form, query, received_at=received_at)


def _recording_callback(
    form: dict[str, str], query: dict[str, str], received_at: datetime
) -> Parsed:
    return parse_recording_callback(form, query, received_at=received_at)


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


@parent_leg_webhook
@retry_on_database_outage
def voice(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    callback = with_dialled_destination(callback)
    call_apply_callback(callback=callback)
    return _twiml(twiml_for_voice_request(callback=callback, urls=_webhook_urls(request)))


@parent_leg_webhook
def voice_fallback(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    try:
        call_apply_callback(callback=with_dialled_destination(callback))
    except OperationalError:
        # The caller still deserves the apology when the Voice URL failed for this reason.
        logger.exception("Database unavailable; Twilio error on %s not recorded", callback.call_sid)
    return _twiml(twiml_apology())


@twilio_webhook
@retry_on_database_outage
def status_callback(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    call_apply_callback(callback=callback)
    return HttpResponse(status=204)


@twilio_webhook_parsed_by(_dial_action)
@retry_on_database_outage
def dial_action(request: HttpRequest, action: DialAction) -> HttpResponse:
    """Our <Dial> ended: hang up after an answered call, apply the unanswered-call policy
    otherwise; the parent leg keeps who was rung and that nobody answered."""
    action = dataclasses.replace(action, callback=with_dialled_destination(action.callback))
    with transaction.atomic():
        call_apply_callback(callback=action.callback)
        call_record_dial_result(
            sid=action.callback.call_sid,
            dial_status=action.dial_status,
            unanswered=action.is_missed,
            offered_to=action.offered,
        )
    return _twiml(twiml_for_dial_action(action=action, urls=_webhook_urls(request)))


@parent_leg_webhook
def voicemail_done(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    """The caller finished the voicemail (the recording's own callbacks store it)."""
    return _twiml(twiml_voicemail_done())


@twilio_webhook_parsed_by(_recording_callback)
@retry_on_database_outage
def recording_status(request: HttpRequest, callback: RecordingCallback) -> HttpResponse:
    recording_apply_callback(callback=callback)
    return HttpResponse(status=204)


def _webhook_urls(request: HttpRequest) -> WebhookUrls:
    return WebhookUrls(
        status_callback=public_url(request, reverse("webhooks:status")),
        dial_action=public_url(request, reverse("webhooks:dial-action")),
        recording_callback=public_url(request, reverse("webhooks:recording")),
        voicemail_done=public_url(request, reverse("webhooks:voicemail-done")),
    )


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")


def _plain(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
