"""What a caller hears when nobody answers: the unanswered-call policy of the number called
(calls from the phone network) or of the agent called (calls between agents).

Our <Dial> action webhook, and a call nobody could be offered, end up here. A call an agent
placed to a phone number that nobody answered just ends: the agent heard it.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from twilio.twiml.voice_response import VoiceResponse

from agents.constants import UnansweredPolicy
from agents.models import Agent, PhoneNumber
from calls.constants import ANSWERED_DIAL_STATUSES, UNANSWERED_DIAL_STATUSES
from calls.webhooks.callbacks import InvalidCallback, TwilioCallback, parse_twilio_callback
from calls.webhooks.twiml import (
    AGENT_UNAVAILABLE,
    RECORDING_CALLBACK_EVENTS,
    WebhookUrls,
    dial_verb,
    spoken,
)
from voiceproject.twilio_ids import client_identity, is_call_sid, is_identity

# More identities than a <Dial> holds is not a URL we wrote.
OFFERED_MAX = 10

NOBODY_AVAILABLE = "Nobody is available to take your call. Please try again later."
NUMBER_VOICEMAIL_GREETING = (
    "Nobody is available to take your call. Please leave a message after the tone."
)
AGENT_VOICEMAIL_GREETING = (
    "{name} cannot take your call right now. Please leave a message after the tone."
)
VOICEMAIL_THANKS = "Thank you for your message. Goodbye."

PolicyOwner = PhoneNumber | Agent


@dataclass(frozen=True)
class DialAction:
    """Twilio's request to our <Dial> action: the parent leg, and how its <Dial> ended.

    dial_status is empty when nobody could be offered the call (we redirected here).
    """

    callback: TwilioCallback
    dial_status: str
    dial_call_sid: str | None
    dial_call_duration: int | None
    offered: list[str]
    forwarded: bool

    @property
    def account_sid(self) -> str:
        return self.callback.account_sid

    @property
    def nobody_answered(self) -> bool:
        return self.dial_status not in ANSWERED_DIAL_STATUSES

    @property
    def is_missed(self) -> bool:
        """Nobody answered a call to us; an agent's own unanswered call to a number is not."""
        return self.nobody_answered and unanswered_policy_owner(callback=self.callback) is not None


def parse_dial_action(
    form: dict[str, str], query: dict[str, str], *, received_at: datetime
) -> DialAction:
    """Read the action request; the query holds what we wrote into the action URL."""
    callback = parse_twilio_callback(form, received_at=received_at, takes_parent=False)
    dial_status = form.get("DialCallStatus", "")
    if dial_status and dial_status not in ANSWERED_DIAL_STATUSES | UNANSWERED_DIAL_STATUSES:
        raise InvalidCallback(f"DialCallStatus {dial_status[:40]!r} is not a Dial status.")
    dial_call_sid = form.get("DialCallSid") or None
    if dial_call_sid is not None and not is_call_sid(dial_call_sid):
        raise InvalidCallback("DialCallSid is not a call SID.")
    duration = form.get("DialCallDuration", "")
    if duration and not (duration.isascii() and duration.isdigit() and len(duration) < 10):
        raise InvalidCallback("DialCallDuration is not a whole number.")
    offered = [identity for identity in query.get("offered", "").split(",") if identity]
    if len(offered) > OFFERED_MAX or not all(is_identity(identity) for identity in offered):
        raise InvalidCallback("offered is not a list of client identities.")
    return DialAction(
        callback=callback,
        dial_status=dial_status,
        dial_call_sid=dial_call_sid,
        dial_call_duration=int(duration) if duration else None,
        offered=offered,
        forwarded=query.get("forwarded") == "1",
    )


def unanswered_policy_owner(*, callback: TwilioCallback) -> PolicyOwner | None:
    """Whose policy applies to the parent leg: the agent an agent called, or the number a
    phone called; None for an agent's call to a phone number."""
    return policy_owner_of_leg(from_address=callback.from_address, to_address=callback.to_address)


def policy_owner_of_leg(*, from_address: str, to_address: str) -> PolicyOwner | None:
    if client_identity(from_address) is not None:
        callee = client_identity(to_address) or to_address
        if not is_identity(callee):
            return None
        return Agent.objects.filter(identity=callee).select_related("user").first()
    return PhoneNumber.objects.filter(number=to_address).first()


def twiml_for_dial_action(*, action: DialAction, urls: WebhookUrls) -> str:
    """End an answered call; apply the policy of the number or agent called to an unanswered one."""
    response = VoiceResponse()
    owner = unanswered_policy_owner(callback=action.callback) if action.nobody_answered else None
    if owner is None:
        response.hangup()
        return str(response)
    forward_to = _safe_forward_target(owner, action)
    if forward_to is not None:
        dial = dial_verb(
            response,
            action=urls.dial_action_for(offered=action.offered, forwarded=True),
            caller_id=_forward_caller_id(owner),
        )
        dial.number(forward_to)
        return str(response)
    if owner.unanswered_policy == UnansweredPolicy.MESSAGE:
        return str(spoken(owner.unanswered_greeting or _default_message(owner)))
    return str(_voicemail(owner, urls))


def twiml_voicemail_done() -> str:
    return str(spoken(VOICEMAIL_THANKS))


def _safe_forward_target(owner: PolicyOwner, action: DialAction) -> str | None:
    """The number to forward to, unless forwarding could loop: a forward that went
    unanswered goes to voicemail rather than forward again, and a target that is one of our
    own numbers (which would ring our agents and forward again) or the caller is refused."""
    if owner.unanswered_policy != UnansweredPolicy.FORWARD or action.forwarded:
        return None
    target = owner.forward_to
    if not target or not _forward_caller_id(owner) or target == action.callback.from_address:
        return None
    if PhoneNumber.objects.filter(number=target).exists():
        return None
    return target


def _forward_caller_id(owner: PolicyOwner) -> str:
    """A caller ID Twilio accepts for the forward: our number called, or the agent's own."""
    return owner.number if isinstance(owner, PhoneNumber) else owner.caller_id


def _default_message(owner: PolicyOwner) -> str:
    return NOBODY_AVAILABLE if isinstance(owner, PhoneNumber) else AGENT_UNAVAILABLE


def _voicemail(owner: PolicyOwner, urls: WebhookUrls) -> VoiceResponse:
    """A greeting, the beep, and a recording whose callbacks say whose voicemail it is."""
    if isinstance(owner, PhoneNumber):
        greeting = owner.unanswered_greeting or NUMBER_VOICEMAIL_GREETING
        whose = {"number": str(owner.pk)}
    else:
        greeting = owner.unanswered_greeting or AGENT_VOICEMAIL_GREETING.format(
            name=owner.display_name
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
