"""Read Twilio's conference status callbacks into typed values, refusing malformed fields.

Twilio sends one per conference event (StatusCallbackEvent), numbered by SequenceNumber
within the conference; participant events name the participant's CallSid and label.
"""

from dataclasses import dataclass
from datetime import datetime

from calls.constants import KNOWN_CONFERENCE_EVENTS
from calls.deliveries.calls import (
    InvalidCallback,
    delivery_digest,
    optional_counter,
    timestamp_of,
)
from voiceproject.twilio_ids import is_account_sid, is_call_sid, is_conference_sid

# Twilio's limit for a participant label and a conference's friendly name.
LABEL_MAX_LENGTH = 128
FRIENDLY_NAME_MAX_LENGTH = 128
REASON_MAX_LENGTH = 128


@dataclass(frozen=True)
class ConferenceCallback:
    """One conference event from Twilio."""

    account_sid: str
    conference_sid: str
    friendly_name: str
    event: str
    sequence_number: int | None
    timestamp: datetime
    call_sid: str | None
    label: str
    hold: bool | None
    muted: bool | None
    coaching: bool | None
    end_conference_on_exit: bool | None
    reason: str
    ending_call_sid: str | None
    ending_label: str
    parameters: dict[str, str]

    @property
    def delivery_digest(self) -> str:
        return delivery_digest(self.parameters)


def parse_conference_callback(
    parameters: dict[str, str], *, received_at: datetime
) -> ConferenceCallback:
    """Check and convert the fields we use; raise InvalidCallback naming the first bad one.

    Events Twilio may add later are kept as they come: only the name's shape is checked.
    """
    if any("\x00" in name or "\x00" in value for name, value in parameters.items()):
        raise InvalidCallback("A parameter name or value contains a NUL byte.")
    account_sid = parameters.get("AccountSid", "")
    if not is_account_sid(account_sid):
        raise InvalidCallback("AccountSid is missing or is not an account SID.")
    conference_sid = parameters.get("ConferenceSid", "")
    if not is_conference_sid(conference_sid):
        raise InvalidCallback("ConferenceSid is missing or is not a conference SID.")
    friendly_name = parameters.get("FriendlyName", "")
    if len(friendly_name) > FRIENDLY_NAME_MAX_LENGTH:
        raise InvalidCallback(f"FriendlyName is longer than {FRIENDLY_NAME_MAX_LENGTH} characters.")
    event = parameters.get("StatusCallbackEvent", "")
    if event not in KNOWN_CONFERENCE_EVENTS and not _is_event_name(event):
        raise InvalidCallback(f"StatusCallbackEvent {event[:40]!r} is not a conference event.")
    call_sid = _optional_call_sid(parameters, "CallSid")
    if event.startswith("participant-") and call_sid is None:
        raise InvalidCallback("A participant event without a CallSid.")
    label = parameters.get("ParticipantLabel", "")
    ending_label = parameters.get("ParticipantLabelEndingConference", "")
    if len(label) > LABEL_MAX_LENGTH or len(ending_label) > LABEL_MAX_LENGTH:
        raise InvalidCallback(f"A participant label is longer than {LABEL_MAX_LENGTH} characters.")
    reason = parameters.get("ReasonParticipantLeft") or parameters.get("ReasonConferenceEnded", "")
    return ConferenceCallback(
        account_sid=account_sid,
        conference_sid=conference_sid,
        friendly_name=friendly_name,
        event=event,
        sequence_number=optional_counter(parameters, "SequenceNumber"),
        timestamp=timestamp_of(parameters, received_at=received_at),
        call_sid=call_sid,
        label=label,
        hold=_optional_flag(parameters, "Hold"),
        muted=_optional_flag(parameters, "Muted"),
        coaching=_optional_flag(parameters, "Coaching"),
        end_conference_on_exit=_optional_flag(parameters, "EndConferenceOnExit"),
        reason=reason[:REASON_MAX_LENGTH],
        ending_call_sid=_optional_call_sid(parameters, "CallSidEndingConference"),
        ending_label=ending_label,
        parameters=dict(parameters),
    )


def _is_event_name(value: str) -> bool:
    return 0 < len(value) <= 64 and value.replace("-", "").isalpha() and value.islower()


def _optional_call_sid(parameters: dict[str, str], name: str) -> str | None:
    value = parameters.get(name) or None
    if value is not None and not is_call_sid(value):
        raise InvalidCallback(f"{name} is not a call SID.")
    return value


def _optional_flag(parameters: dict[str, str], name: str) -> bool | None:
    """Twilio's `true`/`false` (any case); None when absent."""
    value = parameters.get(name, "").lower()
    if not value:
        return None
    if value not in ("true", "false"):
        raise InvalidCallback(f"{name} is neither true nor false.")
    return value == "true"
