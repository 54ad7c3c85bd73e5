"""The URLs Twilio requests about calls: the Voice URL, its fallback, status callbacks, our
<Dial> action and the end of a voicemail.

Each view checks the signature, reads the form into a typed value, calls one service and
answers; rules about calls live in calls.call_table, TwiML in calls.webhooks.twiml and
calls.webhooks.unanswered. The recording status callback is calls.recordings.webhooks.
"""

import dataclasses
import logging
from datetime import datetime

from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from calls.call_table import call_apply_callback, call_record_dial_result
from calls.deliveries.calls import DialAction, TwilioCallback, parse_dial_action
from calls.deliveries.receiving import (
    Parsed,
    parent_leg_webhook,
    retry_on_database_outage,
    twilio_webhook,
    twilio_webhook_parsed_by,
)
from calls.deliveries.signatures import public_url
from calls.webhooks.destinations import with_dialled_destination
from calls.webhooks.twiml import WebhookUrls, twiml_apology, twiml_for_voice_request
from calls.webhooks.unanswered import (
    dial_action_is_missed,
    twiml_for_dial_action,
    twiml_voicemail_done,
)
from inbound.queue_routing import (
    queue_apply_dial_action,
    queue_leg_status_after,
    queue_leg_status_before,
)
from voiceproject.metrics import callback_lag_observe

logger = logging.getLogger(__name__)


def _dial_action(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    return parse_dial_action(form, query, received_at=received_at)


@parent_leg_webhook
@retry_on_database_outage
def voice(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    callback = with_dialled_destination(callback)
    call_apply_callback(callback=callback)
    return _twiml(twiml_for_voice_request(callback=callback, urls=webhook_urls(request)))


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
    queue_leg_status_before(callback=callback)
    call_apply_callback(callback=callback)
    queue_leg_status_after(callback=callback)
    if callback.timed_by_twilio:
        callback_lag_observe(timestamp=callback.timestamp)
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
            unanswered=dial_action_is_missed(action=action),
            offered_to=action.offered,
        )
        if action.queue_id is not None:
            queue_apply_dial_action(action=action, now=timezone.now())
    return _twiml(twiml_for_dial_action(action=action, urls=webhook_urls(request)))


@parent_leg_webhook
def voicemail_done(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    """The caller finished the voicemail (the recording's own callbacks store it)."""
    return _twiml(twiml_voicemail_done())


def webhook_urls(request: HttpRequest) -> WebhookUrls:
    """Our webhooks' URLs as Twilio requests them, for the TwiML answering this request."""
    return WebhookUrls(
        status_callback=public_url(request, reverse("webhooks:status")),
        dial_action=public_url(request, reverse("webhooks:dial-action")),
        recording_callback=public_url(request, reverse("webhooks:recording")),
        voicemail_done=public_url(request, reverse("webhooks:voicemail-done")),
        queue_wait=public_url(request, reverse("webhooks:queue-wait")),
    )


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")
