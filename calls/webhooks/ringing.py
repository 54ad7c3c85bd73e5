"""The pieces every TwiML answer is built from: ringing agents, dialling, speaking.

Below the Voice URL's flow (calls.webhooks.twiml), the unanswered-call policies
(calls.webhooks.unanswered) and the inbound steps (inbound.hours, inbound.menus), which all
ring and speak the same way; it imports none of them.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from twilio.twiml.voice_response import Dial, VoiceResponse

from agents.models import Agent, CallHandling, PhoneNumber
from calls.constants import LEG_STATUS_CALLBACK_EVENTS
from calls.webhooks.routing import agents_to_ring

# Twilio refuses a <Dial> with more than ten nouns.
DIAL_MAX_NOUNS = 10
RECORDING_CALLBACK_EVENTS = "in-progress completed absent"
# Both parties on their own channel: supervisors can listen to either side.
DIAL_RECORDING = "record-from-answer-dual"

NUMBER_NOT_IN_SERVICE = "The number you have called is not in service."


@dataclass(frozen=True)
class WebhookUrls:
    """Absolute URLs of our webhooks, as Twilio must request them (see public_url)."""

    status_callback: str
    dial_action: str
    recording_callback: str
    voicemail_done: str
    menu: str
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


def twiml_ringing_number(
    *,
    phone_number: PhoneNumber,
    caller_number: str,
    urls: WebhookUrls,
    candidates: QuerySet[Agent] | None = None,
) -> str:
    """Ring those of the candidates (the number's agents unless given) who can take a call
    now, at once; straight to the number's unanswered-call policy when nobody can."""
    if candidates is None:
        candidates = phone_number.agents.all()
    agents = list(agents_to_ring(candidates=candidates, now=timezone.now())[:DIAL_MAX_NOUNS])
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
    response = announced(owner)
    offered = [agent.identity for agent in agents]
    options = {} if timeout is None else {"timeout": timeout}
    dial = recorded_dial(
        response,
        urls,
        recorded_by=owner,
        offered=offered,
        action=urls.dial_action_for(offered=offered, queue_id=queue_id),
        **options,
    )
    ring(dial, agents, context, status_callback_options(urls.status_callback))
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


def ring(
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


def announced(owner: CallHandling) -> VoiceResponse:
    """A response that first tells the caller the call is recorded, when it will be."""
    response = VoiceResponse()
    if owner.record_calls and owner.recording_announcement:
        response.say(owner.recording_announcement)
    return response


def recorded_dial(
    response: VoiceResponse,
    urls: WebhookUrls,
    *,
    recorded_by: CallHandling,
    offered: list[str],
    action: str | None = None,
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
    return dial_verb(response, action=action or urls.dial_action_for(offered=offered), **options)


def dial_verb(response: VoiceResponse, *, action: str, **options: Any) -> Dial:
    # answerOnBridge: the caller hears ringing, and is not billed, until someone answers.
    options.setdefault("timeout", settings.TWILIO_DIAL_TIMEOUT)
    return response.dial(answer_on_bridge=True, action=action, method="POST", **options)


def status_callback_options(status_callback_url: str) -> dict[str, str]:
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
