"""Call statuses and directions as Twilio names them, and the order statuses move in."""

from django.db import models

from voiceproject.twilio_ids import DIAL_CHILD_DIRECTION


class CallStatus(models.TextChoices):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


# Longest From/To we keep (Call.from_number, Call.to_number); a callback with a longer one is
# refused, a REST listing's is cut to this.
ADDRESS_MAX_LENGTH = 255


class CallDirection(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_DIAL = DIAL_CHILD_DIRECTION
    TRUNKING_ORIGINATING = "trunking-originating"
    TRUNKING_TERMINATING = "trunking-terminating"


class CallKind(models.TextChoices):
    """What a call family is, from our side."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    OTHER = "other"


# TextChoices.values builds a new list on every use; these are read on every request.
KNOWN_STATUSES = frozenset(CallStatus.values)
KNOWN_DIRECTIONS = frozenset(CallDirection.values)

TERMINAL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)

# How far along a leg is. A status never moves to a lower rank; all terminal statuses share
# the top rank because a leg ends only once.
STATUS_RANK: dict[str, int] = {
    "": -1,
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
    **dict.fromkeys(TERMINAL_STATUSES, 4),
}
