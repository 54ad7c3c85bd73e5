"""What an agent's softphone dialled, read from Twilio's requests for the call's parent leg.

Apps send it in different ways: the Voice SDK passes every `device.connect({params})` key
as a parameter of its own, so the number or identity arrives in `To` or, with an empty `To`,
under the name the app chose; and numbers arrive as people type them or as address books
hold them. The one reading lives here, for the TwiML, the call table and the unanswered-call
policy alike.
"""

import dataclasses
from typing import Final

from django.conf import settings

from agents.models import Agent
from calls.constants import ADDRESS_MAX_LENGTH
from calls.deliveries.calls import TwilioCallback
from voiceproject.twilio_ids import client_identity, e164_from_dialled, is_identity

# Where a softphone's call may carry what was dialled, the first one filled wins: the SDK's
# own `To`, then `to` (Twilio's iOS and Android quickstarts), `phoneNumber` (Twilio's
# browser-calls tutorials), `PhoneNumber` and `phone`.
DESTINATION_PARAMETERS: Final = ("To", "to", "phoneNumber", "PhoneNumber", "phone")


def dialled_parameter(parameters: dict[str, str]) -> str:
    """What the softphone sent as dialled, trimmed; empty when it sent nothing."""
    for name in DESTINATION_PARAMETERS:
        value = parameters.get(name, "").strip()
        if value:
            return value
    return ""


def destination_of(dialled: str) -> str:
    """An agent as dialled (`client:bob`, or `bob` when bob is an agent); otherwise the
    number in E.164, read in DEFAULT_PHONE_REGION or with its country code; otherwise the
    text as it came, which the TwiML explains is not something one can call."""
    if client_identity(dialled) is not None:
        return dialled
    if is_identity(dialled) and Agent.objects.filter(identity=dialled).exists():
        return dialled
    return e164_from_dialled(dialled, region=settings.DEFAULT_PHONE_REGION) or dialled


def with_dialled_destination(callback: TwilioCallback) -> TwilioCallback:
    """A softphone's parent-leg request with `to_address` set to what the agent dialled; any
    other request as it is."""
    if client_identity(callback.from_address) is None:
        return callback
    destination = destination_of(dialled_parameter(callback.parameters))
    return dataclasses.replace(callback, to_address=destination[:ADDRESS_MAX_LENGTH])
