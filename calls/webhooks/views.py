"""The URLs Twilio requests about calls: the Voice URL, its fallback, status callbacks, our
<Dial> action, the end of a voicemail, the answers to a number's menu and conference status
callbacks (a queue's wait loop is inbound.webhooks).

Each view checks the signature, reads the form into a typed value, calls one service and
answers; rules about calls live in calls.call_table, TwiML in calls.webhooks.twiml,
calls.webhooks.unanswered and inbound.menus. The recording status callback is
calls.recordings.webhooks.
"""

import dataclasses
import logging
from datetime import datetime

from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from calls import tasks
from calls.call_table import call_apply_callback, call_record_dial_result
from calls.conference_table import conference_apply_callback
from calls.constants import TERMINAL_STATUSES, CallStatus
from calls.deliveries.calls import (
    DialAction,
    InvalidCallback,
    TwilioCallback,
    parse_dial_action,
    parse_twilio_callback,
)
from calls.deliveries.conferences import ConferenceCallback, parse_conference_callback
from calls.deliveries.menus import MenuAnswer, parse_menu_answer
from calls.deliveries.receiving import (
    Parsed,
    parent_leg_webhook,
    retry_on_database_outage,
    twilio_webhook_parsed_by,
)
from calls.deliveries.signatures import public_url
from calls.hub.moving import hub_takes_answered_leg, twiml_for_parent
from calls.hub.reactions import transfer_target_missed
from calls.hub.twiml import hub_urls_for
from calls.models import Call
from calls.webhooks.destinations import with_dialled_destination
from calls.webhooks.ringing import WebhookUrls
from calls.webhooks.twiml import twiml_apology, twiml_for_voice_request
from calls.webhooks.unanswered import (
    dial_action_is_missed,
    twiml_for_dial_action,
    twiml_voicemail_done,
)
from inbound.menus import twiml_for_menu_answer
from inbound.queue_routing import (
    queue_apply_dial_action,
    queue_leg_status_after,
    queue_leg_status_before,
)
from voiceproject.metrics import callback_lag_observe
from voiceproject.twilio_ids import is_call_sid

logger = logging.getLogger(__name__)


def _dial_action(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    return parse_dial_action(form, query, received_at=received_at)


def _menu_answer(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    return parse_menu_answer(form, query, received_at=received_at)


def _status_callback(form: dict[str, str], query: dict[str, str], received_at: datetime) -> Parsed:
    """A leg's status callback. A leg the conference hub added has no ParentCallSid: the
    family the hub wrote into its callback URL (signed with it) is its parent."""
    callback = parse_twilio_callback(form, received_at=received_at)
    family = query.get("family")
    if callback.parent_call_sid is None and family:
        if not is_call_sid(family) or family == callback.call_sid:
            raise InvalidCallback("family is not another call's SID.")
        return dataclasses.replace(callback, parent_call_sid=family)
    return callback


def _conference_callback(
    form: dict[str, str], query: dict[str, str], received_at: datetime
) -> Parsed:
    return parse_conference_callback(form, received_at=received_at)


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


@twilio_webhook_parsed_by(_status_callback)
@retry_on_database_outage
def status_callback(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    queue_leg_status_before(callback=callback)
    call_apply_callback(callback=callback)
    queue_leg_status_after(callback=callback)
    if callback.timed_by_twilio:
        callback_lag_observe(timestamp=callback.timestamp)
    if (
        callback.status in TERMINAL_STATUSES
        and _added_by_the_hub(callback)
        and (missed := transfer_target_missed(call_sid=callback.call_sid))
    ):
        unanswered_url = webhook_urls(request).dial_action_for(offered=[])
        tasks.hub_react_soon(tasks.hub_transfer_unanswered, missed, unanswered_url)
    if _answered_by_our_dial(callback) and hub_takes_answered_leg(
        parent_sid=str(callback.parent_call_sid)
    ):
        tasks.hub_move_answered_leg_soon(
            leg_sid=callback.call_sid,
            family_sid=str(callback.parent_call_sid),
            urls=hub_urls_for(request),
        )
    return HttpResponse(status=204)


def _added_by_the_hub(callback: TwilioCallback) -> bool:
    """A leg the conference hub added: its family came in the callback URL, not from Twilio."""
    return callback.parent_call_sid is not None and not callback.parameters.get("ParentCallSid")


def _answered_by_our_dial(callback: TwilioCallback) -> bool:
    """A <Dial>'s leg just answered: Twilio names its parent (legs the hub adds have none)."""
    return callback.status == CallStatus.IN_PROGRESS and bool(
        callback.parameters.get("ParentCallSid")
    )


@twilio_webhook_parsed_by(_conference_callback)
@retry_on_database_outage
def conference_status(request: HttpRequest, callback: ConferenceCallback) -> HttpResponse:
    for joined in conference_apply_callback(callback=callback):
        tasks.hub_react_soon(tasks.hub_transfer_answered, joined)
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
    joining = None
    if not action.nobody_answered:
        # The answered leg was moved into the family's conference: the parent joins it.
        parent = Call.objects.filter(sid=action.callback.call_sid).first()
        joining = twiml_for_parent(parent=parent, urls=hub_urls_for(request)) if parent else None
    if action.queue_id is not None:
        queue_apply_dial_action(action=action, now=timezone.now(), call_goes_on=bool(joining))
    if joining is not None:
        return _twiml(joining)
    return _twiml(twiml_for_dial_action(action=action, urls=webhook_urls(request)))


@parent_leg_webhook
def voicemail_done(request: HttpRequest, callback: TwilioCallback) -> HttpResponse:
    """The caller finished the voicemail (the recording's own callbacks store it)."""
    return _twiml(twiml_voicemail_done())


@twilio_webhook_parsed_by(_menu_answer)
@retry_on_database_outage
def menu_answer(request: HttpRequest, answer: MenuAnswer) -> HttpResponse:
    """A caller answered a number's menu, or said nothing: the option chosen, the menu
    again, or its default; the parent leg's event keeps the keys pressed."""
    call_apply_callback(callback=answer.callback)
    return _twiml(twiml_for_menu_answer(answer=answer, urls=webhook_urls(request)))


def webhook_urls(request: HttpRequest) -> WebhookUrls:
    """Our webhooks' URLs as Twilio requests them, for the TwiML answering this request."""
    return WebhookUrls(
        status_callback=public_url(request, reverse("webhooks:status")),
        dial_action=public_url(request, reverse("webhooks:dial-action")),
        recording_callback=public_url(request, reverse("webhooks:recording")),
        voicemail_done=public_url(request, reverse("webhooks:voicemail-done")),
        menu=public_url(request, reverse("webhooks:menu")),
        queue_wait=public_url(request, reverse("webhooks:queue-wait")),
    )


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")
