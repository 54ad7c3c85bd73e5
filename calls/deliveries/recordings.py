"""Read a recording status callback into a typed value, refusing malformed fields."""

from dataclasses import dataclass
from datetime import datetime

from calls.constants import (
    KNOWN_RECORDING_STATUSES,
    RECORDING_SOURCE_MAX_LENGTH,
    VOICEMAIL_RECORDING_SOURCE,
    RecordingKind,
)
from calls.deliveries.calls import (
    InvalidCallback,
    account_and_call_sid,
    delivery_digest,
    optional_counter,
)
from voiceproject.twilio_ids import (
    is_plausible_call_time,
    is_sid,
    parse_twilio_datetime,
    sid_error,
)


@dataclass(frozen=True)
class RecordingCallback:
    """One recording status callback: the recording, its leg, and whose voicemail it is
    (from the callback URL our <Record> set)."""

    account_sid: str
    call_sid: str
    recording_sid: str
    status: str
    duration: int | None
    channels: int | None
    source: str
    started_at: datetime | None
    error_code: int | None
    voicemail_number_id: int | None
    voicemail_agent_id: int | None
    parameters: dict[str, str]

    @property
    def kind(self) -> str:
        is_voicemail = (
            self.voicemail_number_id is not None
            or self.voicemail_agent_id is not None
            or self.source == VOICEMAIL_RECORDING_SOURCE
        )
        return RecordingKind.VOICEMAIL if is_voicemail else RecordingKind.CALL

    @property
    def delivery_digest(self) -> str:
        return delivery_digest(self.parameters)


def parse_recording_callback(
    form: dict[str, str], query: dict[str, str], *, received_at: datetime
) -> RecordingCallback:
    """Check and convert the fields we use; raise InvalidCallback naming the first bad one.

    A conference's recording names no CallSid: the family it records is in the callback URL
    the hub wrote (`?family=CA…`), signed with it.
    """
    if not form.get("CallSid") and query.get("family"):
        account_sid, call_sid = account_and_call_sid({**form, "CallSid": query["family"]})
    else:
        account_sid, call_sid = account_and_call_sid(form)
    recording_sid = form.get("RecordingSid", "")
    if not is_sid(recording_sid, prefix="RE"):
        raise InvalidCallback(sid_error(name="RecordingSid", prefix="RE"))
    status = form.get("RecordingStatus", "")
    if status not in KNOWN_RECORDING_STATUSES:
        raise InvalidCallback(f"RecordingStatus {status[:40]!r} is not a recording status.")
    channels = optional_counter(form, "RecordingChannels")
    if channels not in (None, 1, 2):
        raise InvalidCallback("RecordingChannels is neither 1 nor 2.")
    source = form.get("RecordingSource", "")
    if len(source) > RECORDING_SOURCE_MAX_LENGTH:
        raise InvalidCallback(f"RecordingSource is longer than {RECORDING_SOURCE_MAX_LENGTH}.")
    try:
        started_at = parse_twilio_datetime(form.get("RecordingStartTime"))
    except ValueError:
        raise InvalidCallback("RecordingStartTime is not an RFC 2822 date.") from None
    if started_at is not None and not is_plausible_call_time(started_at, now=received_at):
        raise InvalidCallback("RecordingStartTime is not a time a call can have.")
    return RecordingCallback(
        account_sid=account_sid,
        call_sid=call_sid,
        recording_sid=recording_sid,
        status=status,
        duration=optional_counter(form, "RecordingDuration"),
        channels=channels,
        source=source,
        started_at=started_at,
        error_code=optional_counter(form, "ErrorCode"),
        voicemail_number_id=optional_counter(query, "number"),
        voicemail_agent_id=optional_counter(query, "agent"),
        parameters=dict(form),
    )
