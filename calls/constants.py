"""Call statuses and directions as Twilio names them, the order statuses move in, and what a
family of legs is: its kind and outcome."""

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


class FamilyKind(models.TextChoices):
    """Who called whom, for a whole family (Twilio's `direction` is per leg: an agent's
    outgoing softphone call is an `inbound` parent leg)."""

    INBOUND = "inbound", "inbound (a customer called us)"
    OUTBOUND = "outbound", "outbound (an agent called out)"
    INTERNAL = "internal", "internal (agent to agent)"
    OTHER = "other", "other (REST-created, SIP trunks)"


class DialResult(models.IntegerChoices):
    """The furthest a family's child legs got, as a rank that only grows: one answered child
    outranks any number of unanswered ones, one unanswered child any number of failures."""

    NONE = 0, "no child leg ended yet"
    FAILED = 1, "every child leg failed"
    UNANSWERED = 2, "nobody answered"
    ANSWERED = 3, "a child leg was answered"


# What a child leg's status says about its family's dial; statuses not listed say nothing yet.
DIAL_RESULT_OF_STATUS: dict[str, int] = {
    CallStatus.IN_PROGRESS: DialResult.ANSWERED,
    CallStatus.COMPLETED: DialResult.ANSWERED,
    CallStatus.NO_ANSWER: DialResult.UNANSWERED,
    CallStatus.BUSY: DialResult.UNANSWERED,
    CallStatus.CANCELED: DialResult.UNANSWERED,
    CallStatus.FAILED: DialResult.FAILED,
}


# DialCallStatus values of a <Dial> action request: someone answered (or the caller hung up
# first), which ends the call, or nobody did, which may lead to another <Dial> (a forward).
ANSWERED_DIAL_STATUSES = frozenset({"completed", "answered", "canceled"})
UNANSWERED_DIAL_STATUSES = frozenset({"no-answer", "busy", "failed"})


class FamilyOutcome(models.TextChoices):
    """How a family ended, from the facts stored on its parent (calls.family_facts)."""

    IN_PROGRESS = "in-progress", "in progress"
    ANSWERED = "answered"
    VOICEMAIL = "voicemail", "voicemail left"
    UNANSWERED = "unanswered", "nobody answered"
    FAILED = "failed", "could not be placed"
    BLOCKED = "blocked", "blocked (the caller is on the blocklist)"


# A family's disposition and note (calls.models.FamilyDisposition): a name fits a menu, a
# note a few paragraphs.
DISPOSITION_NAME_MAX_LENGTH = 64
NOTE_MAX_LENGTH = 2000


class RecordingStatus(models.TextChoices):
    """A recording's status, as callbacks (in-progress, completed, absent) and REST name it."""

    IN_PROGRESS = "in-progress"
    PAUSED = "paused"
    STOPPED = "stopped"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ABSENT = "absent"


# How far along a recording is: a status never moves to a lower rank. Completed and absent
# are final and share the top rank.
RECORDING_STATUS_RANK: dict[str, int] = {
    "": -1,
    RecordingStatus.IN_PROGRESS: 0,
    RecordingStatus.PAUSED: 0,
    RecordingStatus.STOPPED: 1,
    RecordingStatus.PROCESSING: 2,
    RecordingStatus.COMPLETED: 3,
    RecordingStatus.ABSENT: 3,
}
KNOWN_RECORDING_STATUSES = frozenset(RecordingStatus.values)
FINAL_RECORDING_STATUSES = frozenset({RecordingStatus.COMPLETED, RecordingStatus.ABSENT})


class RecordingKind(models.TextChoices):
    CALL = "call", "recorded call"
    VOICEMAIL = "voicemail"


# The <Record> verb makes voicemail; everything else (<Dial record>, the API) records calls.
VOICEMAIL_RECORDING_SOURCE = "RecordVerb"
RECORDING_SOURCE_MAX_LENGTH = 32


class QualityVerdict(models.TextChoices):
    """A leg's quality by its Voice Insights summary (calls.quality.summary judges it)."""

    GOOD = "good"
    POOR = "poor"


class EndedBy(models.TextChoices):
    """Which side hung up, as a Voice Insights summary's properties.disconnected_by says."""

    CALLER = "caller"
    CALLEE = "callee"


# The conference hub (calls.hub): every connected call meets in a conference of its own.
class ConferenceStatus(models.TextChoices):
    """Our word on a family's conference: `moving` while its legs are being moved in, then
    Twilio's own (`init` before it starts, `in-progress`, `completed`); `failed` when the
    move did not happen and the legs stayed bridged by their <Dial>."""

    MOVING = "moving"
    INIT = "init"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"


# How far along a conference is; a later callback never moves it back.
CONFERENCE_STATUS_RANK = {
    ConferenceStatus.MOVING: 0,
    ConferenceStatus.INIT: 1,
    ConferenceStatus.IN_PROGRESS: 2,
    ConferenceStatus.COMPLETED: 3,
    ConferenceStatus.FAILED: 3,
}


class ConferenceEventKind(models.TextChoices):
    """Twilio's StatusCallbackEvent values for conferences."""

    CONFERENCE_START = "conference-start"
    CONFERENCE_END = "conference-end"
    PARTICIPANT_JOIN = "participant-join"
    PARTICIPANT_LEAVE = "participant-leave"
    PARTICIPANT_MUTE = "participant-mute"
    PARTICIPANT_UNMUTE = "participant-unmute"
    PARTICIPANT_HOLD = "participant-hold"
    PARTICIPANT_UNHOLD = "participant-unhold"
    PARTICIPANT_MODIFY = "participant-modify"
    PARTICIPANT_SPEECH_START = "participant-speech-start"
    PARTICIPANT_SPEECH_STOP = "participant-speech-stop"
    ANNOUNCEMENT_END = "announcement-end"
    ANNOUNCEMENT_FAIL = "announcement-fail"


KNOWN_CONFERENCE_EVENTS = frozenset(ConferenceEventKind.values)
# Legs we start (<Dial> nouns, the hub's participants) report every step, so the call table
# has them from their first event.
LEG_STATUS_CALLBACK_EVENTS = "initiated ringing answered completed"
# What the hub asks Twilio to report (the first participant's list applies to the conference).
CONFERENCE_CALLBACK_EVENTS = "start end join leave mute hold modify"


class PartyRole(models.TextChoices):
    """Who a conference participant is, read from its label."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    PARTY = "party", "other party"


class HubEndedBy(models.TextChoices):
    """Who ended a family's conference: the customer hanging up, an agent, or neither
    (Twilio or the API, e.g. a transfer nobody answered)."""

    CUSTOMER = "customer", "the customer"
    AGENT = "agent", "an agent"
    SYSTEM = "system", "the system"


class HubActionKind(models.TextChoices):
    """What an agent or supervisor asked the hub to do."""

    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer", "blind transfer"
    CONSULT = "consult", "warm transfer started"
    COMPLETE = "complete", "warm transfer completed"
    CANCEL_CONSULT = "cancel-consult", "warm transfer cancelled"
    ADD = "add", "third party added"
    REMOVE = "remove", "party removed"
    CANCEL_CALL = "cancel-call", "outgoing call cancelled"
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"
    LEAVE = "leave", "supervisor left"
