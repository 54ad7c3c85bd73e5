"""The TwiML that tells Twilio what to do with a call: ring, and what to do when nobody answers.

Who is rung comes from calls.webhooks.routing; every <Dial> gets our action URL, so that a
call nobody answers goes on to the unanswered-call policy of the number or agent called
(calls.webhooks.unanswered), and the recording attributes of the policy owner. A call from
the phone network first passes the number's inbound steps (inbound.hours, inbound.menus,
then a queue's wait loop, inbound.webhooks).
"""

from django.utils import timezone

from agents.models import Agent, PhoneNumber
from calls.deliveries.calls import TwilioCallback
from calls.webhooks.ringing import (
    NUMBER_NOT_IN_SERVICE,
    WebhookUrls,
    announced,
    nobody_eligible,
    recorded_dial,
    ring,
    sent_to_queue,
    spoken,
    status_callback_options,
    twiml_ringing_number,
)
from calls.webhooks.routing import agents_to_ring
from calls.webhooks.unanswered import AGENT_UNAVAILABLE
from inbound.blocklist import twiml_if_blocked
from inbound.hours import twiml_if_closed
from inbound.menus import twiml_if_menu
from inbound.selectors import queue_id_for_number
from voiceproject.twilio_ids import client_identity, is_e164, is_identity

APOLOGY = "We're sorry. An error has occurred. Please try your call again."
UNKNOWN_CALLER = "Your softphone is not allowed to place calls. Please contact your supervisor."
NO_CALLER_ID = "Your account has no caller ID for calling phone numbers."
INVALID_DESTINATION = "The number you dialled is not a phone number or an agent's name."


def twiml_for_voice_request(*, callback: TwilioCallback, urls: WebhookUrls) -> str:
    """Dial what an agent's softphone asked for, or ring the agents of the number called."""
    caller_identity = client_identity(callback.from_address)
    if caller_identity is not None:
        return _twiml_for_agent_call(caller_identity, callback.to_address, urls)
    return _twiml_for_phone_call(
        callback.call_sid, callback.from_address, callback.to_address, urls
    )


def twiml_apology() -> str:
    return str(spoken(APOLOGY))


def _twiml_for_agent_call(caller_identity: str, destination: str, urls: WebhookUrls) -> str:
    caller = (
        Agent.objects.filter(identity=caller_identity, is_active=True)
        .select_related("user")
        .first()
    )
    if caller is None:
        return str(spoken(UNKNOWN_CALLER))
    noun_options = status_callback_options(urls.status_callback)
    if is_e164(destination):
        if not caller.caller_id:
            return str(spoken(NO_CALLER_ID))
        response = announced(caller)
        dial = recorded_dial(
            response, urls, recorded_by=caller, offered=[], caller_id=caller.caller_id
        )
        dial.number(destination, **noun_options)
        return str(response)
    callee_identity = client_identity(destination) or destination
    if not is_identity(callee_identity):
        return str(spoken(INVALID_DESTINATION))
    if not Agent.objects.filter(identity=callee_identity, is_active=True).exists():
        return str(spoken(AGENT_UNAVAILABLE))
    # Away, offline or on a call: the caller goes to the agent's unanswered-call policy.
    callee = agents_to_ring(
        candidates=Agent.objects.filter(identity=callee_identity), now=timezone.now()
    ).first()
    if callee is None:
        return str(nobody_eligible(urls))
    response = announced(caller)
    context = {"caller_identity": caller.identity, "caller_name": caller.display_name}
    dial = recorded_dial(
        response,
        urls,
        recorded_by=caller,
        offered=[callee.identity],
        caller_id=caller.client_address,
    )
    ring(dial, [callee], context, noun_options)
    return str(response)


def _twiml_for_phone_call(
    call_sid: str, caller_number: str, called_number: str, urls: WebhookUrls
) -> str:
    """The number's steps in order, each answering the call or passing it on: the
    blocklist, closed hours, then the menu, then its queue or ringing its agents."""
    rejected = twiml_if_blocked(call_sid=call_sid, caller_number=caller_number)
    if rejected is not None:
        return rejected
    # The inbound steps' settings come with the number: no query more for a number without.
    phone_number = (
        PhoneNumber.objects.filter(number=called_number)
        .select_related("hours__schedule", "menu", "queue_link")
        .first()
    )
    if phone_number is None:
        return str(spoken(NUMBER_NOT_IN_SERVICE))
    if closed := twiml_if_closed(phone_number=phone_number, caller_number=caller_number, urls=urls):
        return closed
    if menu := twiml_if_menu(phone_number=phone_number, urls=urls):
        return menu
    if (queue_id := queue_id_for_number(number=phone_number)) is not None:
        return str(sent_to_queue(queue_id=queue_id, urls=urls))
    return twiml_ringing_number(phone_number=phone_number, caller_number=caller_number, urls=urls)
