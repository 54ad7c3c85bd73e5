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
from calls.deliveries.calls import TwilioCallback
from calls.webhooks.routing import agents_to_ring
from inbound.selectors import queue_id_for_number
from voiceproject.twilio_ids import client_identity, is_e164, is_identity

# Twilio refuses a <Dial> with more than ten nouns.
DIAL_MAX_NOUNS = 10
# Child legs report every step, so the call table has them from their first event.
STATUS_CALLBACK_EVENTS = "initiated ringing answered completed"
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
    queue_wait: str

    def dial_action_for(
        self, *, offered: list[str], forwarded: bool = False, queue_id: int | None = None
    ) -> str:
        """The <Dial> action, carrying who was rung and for which queue (signed with the URL
        by Twilio)."""
        query = {"offered": ",".join(offered)}
        if forwarded:
            query["forwarded"] = "1"
        if queue_id is not None:
            query["queue"] = str(queue_id)
        return f"{self.dial_action}?{urlencode(query)}"

    def queue_wait_for(self, *, queue_id: int) -> str:
        return f"{self.queue_wait}?{urlencode({'queue': queue_id})}"


def twiml_for_voice_request(*, callback: TwilioCallback, urls: WebhookUrls) -> str:
    """Dial what an agent's softphone asked for, or ring the agents of the number called."""
    caller_identity = client_identity(callback.from_address)
    if caller_identity is not None:
        return _twiml_for_agent_call(caller_identity, callback.to_address, urls)
    return _twiml_for_phone_call(callback.from_address, callback.to_address, urls)


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


def _twiml_for_phone_call(caller_number: str, called_number: str, urls: WebhookUrls) -> str:
    phone_number = PhoneNumber.objects.filter(number=called_number).first()
    if phone_number is None:
        return str(spoken(NUMBER_NOT_IN_SERVICE))
    queue_id = queue_id_for_number(number=phone_number)
    if queue_id is not None:
        return str(sent_to_queue(queue_id=queue_id, urls=urls))
    agents = list(
        agents_to_ring(candidates=phone_number.agents.all(), now=timezone.now())[:DIAL_MAX_NOUNS]
    )
    if not agents:
        return str(nobody_eligible(urls))
    context = {
        "caller_number": caller_number,
        "called_number": phone_number.number,
        "called_name": phone_number.friendly_name,
    }
    return str(ringing(owner=phone_number, agents=agents, context=context, urls=urls))


def ringing(
    *,
    owner: CallHandling,
    agents: list[Agent],
    context: dict[str, str],
    urls: WebhookUrls,
    queue_id: int | None = None,
    timeout: int | None = None,
) -> VoiceResponse:
    """Ring the agents at once, recorded and announced as the owner (number or queue) says;
    the <Dial> action learns who was rung, and for which queue."""
    response = _announced(owner)
    offered = [agent.identity for agent in agents]
    options = {} if timeout is None else {"timeout": timeout}
    dial = _dial(
        response,
        urls,
        recorded_by=owner,
        offered=offered,
        action=urls.dial_action_for(offered=offered, queue_id=queue_id),
        **options,
    )
    _ring(dial, agents, context, _noun_options(urls.status_callback))
    return response


def sent_to_queue(*, queue_id: int, urls: WebhookUrls) -> VoiceResponse:
    """Send the caller to wait in the queue (a number's queue, or a menu's option)."""
    response = VoiceResponse()
    response.redirect(urls.queue_wait_for(queue_id=queue_id), method="POST")
    return response


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
    action: str | None = None,
    **options: Any,
) -> Dial:
    """A <Dial> whose action continues the call when nobody answers, recorded when the
    owner of the recording policy (the number called, or the calling agent) asks for it."""
    if recorded_by.record_calls:
        options.update(
            record=DIAL_RECORDING,
            recording_status_callback=urls.recording_callback,
            recording_status_callback_event=RECORDING_CALLBACK_EVENTS,
            recording_status_callback_method="POST",
        )
    return dial_verb(response, action=action or urls.dial_action_for(offered=offered), **options)


def dial_verb(response: VoiceResponse, *, action: str, **options: Any) -> Dial:
    # answerOnBridge: the caller hears ringing, and is not billed, until someone answers.
    options.setdefault("timeout", settings.TWILIO_DIAL_TIMEOUT)
    return response.dial(answer_on_bridge=True, action=action, method="POST", **options)


def _noun_options(status_callback_url: str) -> dict[str, str]:
    return {
        "status_callback": status_callback_url,
        "status_callback_event": STATUS_CALLBACK_EVENTS,
        "status_callback_method": "POST",
    }


def spoken(message: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return response
