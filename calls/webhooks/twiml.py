"""The TwiML that tells Twilio what to do with a call: ring, and what to do when nobody answers.

Who is rung comes from calls.webhooks.routing; every <Dial> gets our action URL, so that a
call nobody answers goes on to the unanswered-call policy of the number or agent called
(calls.webhooks.unanswered), and the recording attributes of the policy owner.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from twilio.twiml.voice_response import Dial, VoiceResponse

from agents.models import Agent, CallHandling, PhoneNumber
from calls.constants import LEG_STATUS_CALLBACK_EVENTS
from calls.deliveries.calls import TwilioCallback
from calls.webhooks.routing import agents_to_ring
from inbound.blocklist import twiml_if_blocked
from voiceproject.twilio_ids import client_identity, is_e164, is_identity

# Twilio refuses a <Dial> with more than ten nouns.
DIAL_MAX_NOUNS = 10
RECORDING_CALLBACK_EVENTS = "in-progress completed absent"
# Both parties on their own channel: supervisors can listen to either side.
DIAL_RECORDING = "record-from-answer-dual"

APOLOGY = "We're sorry. An error has occurred. Please try your call again."
UNKNOWN_CALLER = "Your softphone is not allowed to place calls. Please contact your supervisor."
NO_CALLER_ID = "Your account has no caller ID for calling phone numbers."
INVALID_DESTINATION = "The number you dialled is not a phone number or an agent's name."
AGENT_UNAVAILABLE = "That agent cannot take your call right now. Please try again later."
NUMBER_NOT_IN_SERVICE = "The number you have called is not in service."


@dataclass(frozen=True)
class WebhookUrls:
    """Absolute URLs of our webhooks, as Twilio must request them (see public_url)."""

    status_callback: str
    dial_action: str
    recording_callback: str
    voicemail_done: str

    def dial_action_for(self, *, offered: list[str], forwarded: bool = False) -> str:
        """The <Dial> action, carrying who was rung (signed with the URL by Twilio)."""
        query = {"offered": ",".join(offered)}
        if forwarded:
            query["forwarded"] = "1"
        return f"{self.dial_action}?{urlencode(query)}"


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
    noun_options = _noun_options(urls.status_callback)
    if is_e164(destination):
        if not caller.caller_id:
            return str(spoken(NO_CALLER_ID))
        response = _announced(caller)
        dial = _dial(response, urls, recorded_by=caller, offered=[], caller_id=caller.caller_id)
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
    response = _announced(caller)
    context = {"caller_identity": caller.identity, "caller_name": caller.display_name}
    dial = _dial(
        response,
        urls,
        recorded_by=caller,
        offered=[callee.identity],
        caller_id=caller.client_address,
    )
    _ring(dial, [callee], context, noun_options)
    return str(response)


def _twiml_for_phone_call(
    call_sid: str, caller_number: str, called_number: str, urls: WebhookUrls
) -> str:
    # Each step of the inbound flow may answer for the call; the blocklist comes first.
    rejected = twiml_if_blocked(call_sid=call_sid, caller_number=caller_number)
    if rejected is not None:
        return rejected
    phone_number = PhoneNumber.objects.filter(number=called_number).first()
    if phone_number is None:
        return str(spoken(NUMBER_NOT_IN_SERVICE))
    agents = list(
        agents_to_ring(candidates=phone_number.agents.all(), now=timezone.now())[:DIAL_MAX_NOUNS]
    )
    if not agents:
        return str(nobody_eligible(urls))
    response = _announced(phone_number)
    context = {
        "caller_number": caller_number,
        "called_number": phone_number.number,
        "called_name": phone_number.friendly_name,
    }
    offered = [agent.identity for agent in agents]
    dial = _dial(response, urls, recorded_by=phone_number, offered=offered)
    _ring(dial, agents, context, _noun_options(urls.status_callback))
    return str(response)


def nobody_eligible(urls: WebhookUrls) -> VoiceResponse:
    """Send the call straight to our <Dial> action, which applies the unanswered policy:
    one place decides what an unanswered caller hears."""
    response = VoiceResponse()
    response.redirect(urls.dial_action_for(offered=[]), method="POST")
    return response


def _ring(
    dial: Dial, agents: list[Agent], context: dict[str, str], noun_options: dict[str, str]
) -> None:
    """Add a <Client> per agent, each with the <Parameter>s its softphone shows before
    answering (the SDK's call.customParameters)."""
    for agent in agents:
        client = dial.client(**noun_options)
        client.identity(agent.identity)
        for name, value in context.items():
            if value:
                client.parameter(name=name, value=value)


def _announced(owner: CallHandling) -> VoiceResponse:
    """A response that first tells the caller the call is recorded, when it will be."""
    response = VoiceResponse()
    if owner.record_calls and owner.recording_announcement:
        response.say(owner.recording_announcement)
    return response


def _dial(
    response: VoiceResponse,
    urls: WebhookUrls,
    *,
    recorded_by: CallHandling,
    offered: list[str],
    **options: Any,
) -> Dial:
    """A <Dial> whose action continues the call when nobody answers, recorded when the
    owner of the recording policy (the number called, or the calling agent) asks for it and
    the conference hub, which records the call once it is answered, is off."""
    if recorded_by.record_calls and not settings.CONFERENCE_HUB:
        options.update(
            record=DIAL_RECORDING,
            recording_status_callback=urls.recording_callback,
            recording_status_callback_event=RECORDING_CALLBACK_EVENTS,
            recording_status_callback_method="POST",
        )
    return dial_verb(response, action=urls.dial_action_for(offered=offered), **options)


def dial_verb(response: VoiceResponse, *, action: str, **options: Any) -> Dial:
    # answerOnBridge: the caller hears ringing, and is not billed, until someone answers.
    return response.dial(
        answer_on_bridge=True,
        timeout=settings.TWILIO_DIAL_TIMEOUT,
        action=action,
        method="POST",
        **options,
    )


def _noun_options(status_callback_url: str) -> dict[str, str]:
    return {
        "status_callback": status_callback_url,
        "status_callback_event": LEG_STATUS_CALLBACK_EVENTS,
        "status_callback_method": "POST",
    }


def spoken(message: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return response
