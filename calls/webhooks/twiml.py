"""The TwiML that tells Twilio what to do with a call reaching our Voice URL."""

from typing import Any

from django.conf import settings
from django.utils import timezone
from twilio.twiml.voice_response import Dial, VoiceResponse

from agents.models import Agent, PhoneNumber
from calls.webhooks.callbacks import TwilioCallback
from calls.webhooks.routing import agents_to_ring
from voiceproject.twilio_ids import client_identity, is_e164, is_identity

# Twilio refuses a <Dial> with more than ten nouns.
DIAL_MAX_NOUNS = 10
# Child legs report every step, so the call table has them from their first event.
STATUS_CALLBACK_EVENTS = "initiated ringing answered completed"

APOLOGY = "We're sorry. An error has occurred. Please try your call again."
UNKNOWN_CALLER = "Your softphone is not allowed to place calls. Please contact your supervisor."
NO_CALLER_ID = "Your account has no caller ID for calling phone numbers."
INVALID_DESTINATION = "Please dial a phone number in international format, or an agent's name."
AGENT_UNAVAILABLE = "That agent cannot take your call right now. Please try again later."
NUMBER_NOT_IN_SERVICE = "The number you have called is not in service."
NOBODY_AVAILABLE = "Nobody is available to take your call. Please try again later."


def twiml_for_voice_request(*, callback: TwilioCallback, status_callback_url: str) -> str:
    """Dial what an agent's softphone asked for, or ring the agents of the number called."""
    caller_identity = client_identity(callback.from_address)
    if caller_identity is not None:
        return _twiml_for_agent_call(caller_identity, callback.to_address, status_callback_url)
    return _twiml_for_phone_call(callback.from_address, callback.to_address, status_callback_url)


def twiml_apology() -> str:
    return str(_spoken(APOLOGY))


def _twiml_for_agent_call(caller_identity: str, destination: str, status_callback_url: str) -> str:
    caller = (
        Agent.objects.filter(identity=caller_identity, is_active=True)
        .select_related("user")
        .first()
    )
    if caller is None:
        return str(_spoken(UNKNOWN_CALLER))
    noun_options = _noun_options(status_callback_url)
    if is_e164(destination):
        if not caller.caller_id:
            return str(_spoken(NO_CALLER_ID))
        response = VoiceResponse()
        _dial(response, caller_id=caller.caller_id).number(destination, **noun_options)
        return str(response)
    callee_identity = client_identity(destination) or destination
    if not is_identity(callee_identity):
        return str(_spoken(INVALID_DESTINATION))
    # Away, offline or on a call: the caller hears so rather than ringing into silence.
    callee = agents_to_ring(
        candidates=Agent.objects.filter(identity=callee_identity), now=timezone.now()
    ).first()
    if callee is None:
        return str(_spoken(AGENT_UNAVAILABLE))
    response = VoiceResponse()
    context = {"caller_identity": caller.identity, "caller_name": caller.display_name}
    _ring(_dial(response, caller_id=caller.client_address), [callee], context, noun_options)
    return str(response)


def _twiml_for_phone_call(caller_number: str, called_number: str, status_callback_url: str) -> str:
    phone_number = PhoneNumber.objects.filter(number=called_number).first()
    if phone_number is None:
        return str(_spoken(NUMBER_NOT_IN_SERVICE))
    agents = list(
        agents_to_ring(candidates=phone_number.agents.all(), now=timezone.now())[:DIAL_MAX_NOUNS]
    )
    if not agents:
        return str(_spoken(NOBODY_AVAILABLE))
    response = VoiceResponse()
    context = {
        "caller_number": caller_number,
        "called_number": phone_number.number,
        "called_name": phone_number.friendly_name,
    }
    _ring(_dial(response), agents, context, _noun_options(status_callback_url))
    return str(response)


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


def _dial(response: VoiceResponse, **options: Any) -> Dial:
    # answerOnBridge: the caller hears ringing, and is not billed, until someone answers.
    return response.dial(answer_on_bridge=True, timeout=settings.TWILIO_DIAL_TIMEOUT, **options)


def _noun_options(status_callback_url: str) -> dict[str, str]:
    return {
        "status_callback": status_callback_url,
        "status_callback_event": STATUS_CALLBACK_EVENTS,
        "status_callback_method": "POST",
    }


def _spoken(message: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return response
