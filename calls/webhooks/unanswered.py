"""What a caller hears when nobody answers: the unanswered-call policy of the number called
(calls from the phone network) or of the agent called (calls between agents).

Our <Dial> action webhook, and a call nobody could be offered, end up here. A call an agent
placed to a phone number that nobody answered just ends: the agent heard it.
"""

from urllib.parse import urlencode

from django.conf import settings
from twilio.twiml.voice_response import VoiceResponse

from agents.constants import UnansweredPolicy
from agents.models import PhoneNumber
from agents.selectors import PolicyOwner, policy_owner_of_leg
from calls.deliveries.calls import DialAction, TwilioCallback
from calls.webhooks.ringing import (
    RECORDING_CALLBACK_EVENTS,
    WebhookUrls,
    dial_verb,
    sent_to_queue,
    spoken,
)
from inbound.models import Queue

AGENT_UNAVAILABLE = "That agent cannot take your call right now. Please try again later."
NOBODY_AVAILABLE = "Nobody is available to take your call. Please try again later."
NUMBER_VOICEMAIL_GREETING = (
    "Nobody is available to take your call. Please leave a message after the tone."
)
AGENT_VOICEMAIL_GREETING = (
    "{name} cannot take your call right now. Please leave a message after the tone."
)
VOICEMAIL_THANKS = "Thank you for your message. Goodbye."


def dial_action_is_missed(*, action: DialAction) -> bool:
    """Nobody answered a call to us; an agent's own unanswered call to a number is not, nor
    a queue's offer that rang out (the caller waits again)."""
    return (
        action.nobody_answered
        and not action.returns_to_queue
        and unanswered_policy_owner(callback=action.callback) is not None
    )


def unanswered_policy_owner(*, callback: TwilioCallback) -> PolicyOwner | None:
    """Whose policy applies to the parent leg: the agent an agent called, or the number a
    phone called; None for an agent's call to a phone number."""
    return policy_owner_of_leg(from_address=callback.from_address, to_address=callback.to_address)


def twiml_for_dial_action(*, action: DialAction, urls: WebhookUrls) -> str:
    """End an answered call; send a queue's caller whose offer rang out back to wait; apply
    the policy of the queue, number or agent called to an unanswered one."""
    response = VoiceResponse()
    if action.returns_to_queue and action.queue_id is not None:
        return str(sent_to_queue(queue_id=action.queue_id, urls=urls))
    owner = unanswered_policy_owner(callback=action.callback) if action.nobody_answered else None
    if owner is None:
        response.hangup()
        return str(response)
    if isinstance(owner, PhoneNumber) and action.queue_id is not None:
        owner = with_queue_policy(owner, queue_id=action.queue_id)
    forward_to = _safe_forward_target(owner, action)
    if forward_to is not None:
        return str(forwarded(owner, forward_to, urls, offered=action.offered))
    if owner.unanswered_policy == UnansweredPolicy.MESSAGE:
        return str(spoken(owner.unanswered_greeting or _default_message(owner)))
    return str(voicemail(owner, urls))


def with_queue_policy(number: PhoneNumber, *, queue_id: int) -> PhoneNumber:
    """The number called, handling its unanswered caller as the queue she waited in says:
    the voicemail stays the number's, and a forward shows the number as caller ID."""
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        return number
    return PhoneNumber(
        pk=number.pk,
        number=number.number,
        friendly_name=number.friendly_name,
        unanswered_policy=queue.unanswered_policy,
        unanswered_greeting=queue.unanswered_greeting,
        forward_to=queue.forward_to,
    )


def twiml_voicemail_done() -> str:
    return str(spoken(VOICEMAIL_THANKS))


def _safe_forward_target(owner: PolicyOwner, action: DialAction) -> str | None:
    """The number to forward to, unless forwarding could loop: a forward that went
    unanswered goes to voicemail rather than forward again."""
    if owner.unanswered_policy != UnansweredPolicy.FORWARD or action.forwarded:
        return None
    return safe_forward_target(owner, owner.forward_to, caller=action.callback.from_address)


def safe_forward_target(owner: PolicyOwner, target: str, *, caller: str) -> str | None:
    """The target, unless forwarding to it could loop or cannot be placed: one of our own
    numbers (which would ring our agents and forward again), the caller, or an owner
    without a caller ID to forward with."""
    if not target or not _forward_caller_id(owner) or target == caller:
        return None
    if PhoneNumber.objects.filter(number=target).exists():
        return None
    return target


def forwarded(
    owner: PolicyOwner, target: str, urls: WebhookUrls, *, offered: list[str]
) -> VoiceResponse:
    """Ring the target with our number (or the agent's caller ID); a forward nobody answers
    comes back to our <Dial> action marked as forwarded, and goes to voicemail."""
    response = VoiceResponse()
    dial = dial_verb(
        response,
        action=urls.dial_action_for(offered=offered, forwarded=True),
        caller_id=_forward_caller_id(owner),
    )
    dial.number(target)
    return response


def forwarded_or_voicemail(
    owner: PolicyOwner, target: str, urls: WebhookUrls, *, caller: str, greeting: str = ""
) -> VoiceResponse:
    """Forward to the target, or take voicemail when that could loop or cannot be placed."""
    safe_target = safe_forward_target(owner, target, caller=caller)
    if safe_target is None:
        return voicemail(owner, urls, greeting=greeting)
    return forwarded(owner, safe_target, urls, offered=[])


def _forward_caller_id(owner: PolicyOwner) -> str:
    """A caller ID Twilio accepts for the forward: our number called, or the agent's own."""
    return owner.number if isinstance(owner, PhoneNumber) else owner.caller_id


def _default_message(owner: PolicyOwner) -> str:
    return NOBODY_AVAILABLE if isinstance(owner, PhoneNumber) else AGENT_UNAVAILABLE


def voicemail(owner: PolicyOwner, urls: WebhookUrls, *, greeting: str = "") -> VoiceResponse:
    """A greeting (the given one, else the owner's), the beep, and a recording whose
    callbacks say whose voicemail it is."""
    if isinstance(owner, PhoneNumber):
        greeting = greeting or owner.unanswered_greeting or NUMBER_VOICEMAIL_GREETING
        whose = {"number": str(owner.pk)}
    else:
        greeting = (
            greeting
            or owner.unanswered_greeting
            or AGENT_VOICEMAIL_GREETING.format(name=owner.display_name)
        )
        whose = {"agent": str(owner.pk)}
    response = VoiceResponse()
    response.say(greeting)
    response.record(
        max_length=settings.VOICEMAIL_MAX_LENGTH,
        play_beep=True,
        recording_status_callback=f"{urls.recording_callback}?{urlencode(whose)}",
        recording_status_callback_event=RECORDING_CALLBACK_EVENTS,
        recording_status_callback_method="POST",
        action=urls.voicemail_done,
        method="POST",
    )
    return response
