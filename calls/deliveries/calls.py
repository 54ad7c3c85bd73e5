"""Read the forms Twilio posts about a call leg (the Voice URL, its fallback, status callbacks,
our <Dial> action) into typed values, refusing malformed fields."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from calls.constants import (
    ADDRESS_MAX_LENGTH,
    ANSWERED_DIAL_STATUSES,
    KNOWN_DIRECTIONS,
    KNOWN_STATUSES,
    TERMINAL_STATUSES,
    UNANSWERED_DIAL_STATUSES,
)
from voiceproject.twilio_ids import (
    MAX_CALL_DURATION_SECONDS,
    is_account_sid,
    is_call_sid,
    is_identity,
    is_plausible_call_duration,
    is_plausible_call_time,
    is_web_url,
    parse_twilio_count,
    parse_twilio_datetime,
)

ERROR_URL_MAX_LENGTH = 1000
# More identities than a <Dial> holds is not a URL we wrote.
OFFERED_MAX = 10


class InvalidCallback(ValueError):
    """A field Twilio would never send like this; the message is a one-line reason."""


@dataclass(frozen=True)
class TwilioCallback:
    """One request from Twilio about one call leg: Voice URL, fallback or status callback."""

    account_sid: str
    call_sid: str
    parent_call_sid: str | None
    status: str
    direction: str
    from_address: str
    to_address: str
    # Twilio's Timestamp, or when we received a request that carries none (the Voice URL's,
    # our <Dial> action's): then timed_by_twilio is False.
    timestamp: datetime
    timed_by_twilio: bool
    sequence_number: int | None
    callback_source: str
    call_duration: int | None
    error_code: int | None
    error_url: str
    parameters: dict[str, str]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def start_time_bound(self) -> datetime:
        """The latest the leg can have started: a final callback's time minus its duration."""
        if self.is_terminal and self.call_duration is not None:
            return self.timestamp - timedelta(seconds=self.call_duration)
        return self.timestamp

    @property
    def start_time_from_twilio(self) -> bool:
        """Whether start_time_bound is Twilio's clock's word on the start: a Timestamp, less
        the duration of a final callback that has one. A final callback of a leg never
        answered (no duration) tells only when the leg ended."""
        if self.is_terminal and not self.call_duration:
            return False
        return self.timed_by_twilio

    @property
    def delivery_digest(self) -> str:
        return delivery_digest(self.parameters)


def delivery_digest(parameters: dict[str, str]) -> str:
    """Identify a delivery: Twilio's retries repeat every parameter exactly."""
    canonical = json.dumps(sorted(parameters.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def single_values(form: Iterable[tuple[str, list[str]]]) -> dict[str, str]:
    """The form's parameters (name, values), each named once; raise InvalidCallback for a
    repeated name.

    Twilio sends each parameter once. With a name twice, the signature covers both values but
    only one would be read, so whoever can repeat a name could swap what is stored.
    """
    parameters = {}
    for name, values in form:
        if len(values) > 1:
            raise InvalidCallback(f"Parameter {name[:40]!r} is repeated.")
        parameters[name] = values[0]
    return parameters


def account_sid_of(parameters: dict[str, str]) -> str:
    """The AccountSid every request from Twilio carries; first of all, refuse NUL bytes,
    which Twilio never sends and PostgreSQL cannot store."""
    if any("\x00" in name or "\x00" in value for name, value in parameters.items()):
        raise InvalidCallback("A parameter name or value contains a NUL byte.")
    account_sid = parameters.get("AccountSid", "")
    if not is_account_sid(account_sid):
        raise InvalidCallback("AccountSid is missing or is not an account SID.")
    return account_sid


def account_and_call_sid(parameters: dict[str, str]) -> tuple[str, str]:
    """The AccountSid and CallSid every request from Twilio about a call carries."""
    account_sid = account_sid_of(parameters)
    call_sid = parameters.get("CallSid", "")
    if not is_call_sid(call_sid):
        raise InvalidCallback("CallSid is missing or is not a call SID.")
    return account_sid, call_sid


def parse_twilio_callback(
    parameters: dict[str, str], *, received_at: datetime, takes_parent: bool = True
) -> TwilioCallback:
    """Check and convert the fields we use; raise InvalidCallback naming the first bad one.

    `takes_parent` is False for the Voice URL, its fallback, our <Dial> action and the end of
    a voicemail, which Twilio requests for parent legs only: a softphone can add any
    parameter to its call, ParentCallSid too, and must not join its leg to another family
    that way, so the parameter is ignored there.
    """
    account_sid, call_sid = account_and_call_sid(parameters)
    parent_call_sid = (parameters.get("ParentCallSid") if takes_parent else None) or None
    if parent_call_sid is not None and not is_call_sid(parent_call_sid):
        raise InvalidCallback("ParentCallSid is not a call SID.")
    if parent_call_sid == call_sid:
        raise InvalidCallback("ParentCallSid names the call itself.")
    status = parameters.get("CallStatus", "")
    if status not in KNOWN_STATUSES:
        raise InvalidCallback(f"CallStatus {status[:40]!r} is not a Twilio call status.")
    direction = parameters.get("Direction", "")
    if direction and direction not in KNOWN_DIRECTIONS:
        raise InvalidCallback(f"Direction {direction[:40]!r} is not a Twilio call direction.")
    from_address = parameters.get("From", "")
    to_address = parameters.get("To", "")
    if len(from_address) > ADDRESS_MAX_LENGTH or len(to_address) > ADDRESS_MAX_LENGTH:
        raise InvalidCallback(f"From or To is longer than {ADDRESS_MAX_LENGTH} characters.")
    timestamp = timestamp_of(parameters, received_at=received_at)
    timed_by_twilio = bool(parameters.get("Timestamp"))
    call_duration = optional_counter(parameters, "CallDuration")
    if call_duration is not None and not is_plausible_call_duration(call_duration):
        raise InvalidCallback(
            f"CallDuration is longer than a call can last ({MAX_CALL_DURATION_SECONDS} s)."
        )
    error_url = parameters.get("ErrorUrl", "")
    if len(error_url) > ERROR_URL_MAX_LENGTH:
        raise InvalidCallback(f"ErrorUrl is longer than {ERROR_URL_MAX_LENGTH} characters.")
    if not is_web_url(error_url):
        # Pages link to it: keep only web URLs. The raw value stays in the event's parameters.
        error_url = ""
    return TwilioCallback(
        account_sid=account_sid,
        call_sid=call_sid,
        parent_call_sid=parent_call_sid,
        status=status,
        direction=direction,
        from_address=from_address,
        to_address=to_address,
        timestamp=timestamp,
        timed_by_twilio=timed_by_twilio,
        sequence_number=optional_counter(parameters, "SequenceNumber"),
        callback_source=parameters.get("CallbackSource", "")[:64],
        call_duration=call_duration,
        error_code=optional_counter(parameters, "ErrorCode"),
        error_url=error_url,
        parameters=dict(parameters),
    )


def timestamp_of(parameters: dict[str, str], *, received_at: datetime) -> datetime:
    """Twilio's Timestamp in UTC, within WEBHOOK_TIMESTAMP_MAX_AGE before `received_at` and
    at most a few minutes after; `received_at` when the request carries none."""
    try:
        timestamp = parse_twilio_datetime(parameters.get("Timestamp"))
    except ValueError:
        raise InvalidCallback("Timestamp is not an RFC 2822 date.") from None
    if timestamp is None:
        return received_at
    oldest = received_at - timedelta(seconds=settings.WEBHOOK_TIMESTAMP_MAX_AGE)
    if timestamp < oldest or not is_plausible_call_time(timestamp, now=received_at):
        raise InvalidCallback(
            "Timestamp is too far from the server's clock"
            f" (at most WEBHOOK_TIMESTAMP_MAX_AGE={settings.WEBHOOK_TIMESTAMP_MAX_AGE} s old)."
        )
    return timestamp


def optional_counter(parameters: dict[str, str], name: str) -> int | None:
    """Read an optional whole number that fits the database's positive integer columns; None
    when absent, empty or Twilio's -1 for "not known yet" (see parse_twilio_count)."""
    try:
        count = parse_twilio_count(parameters.get(name, ""))
    except ValueError:
        raise InvalidCallback(f"{name} is not a whole number.") from None
    if count is not None and count > 2**31 - 1:
        raise InvalidCallback(f"{name} is not a whole number.")
    return count


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
    # The queue whose waiting caller rang, or that sent her on at its maximum wait.
    queue_id: int | None

    @property
    def account_sid(self) -> str:
        return self.callback.account_sid

    @property
    def nobody_answered(self) -> bool:
        return self.dial_status not in ANSWERED_DIAL_STATUSES

    @property
    def returns_to_queue(self) -> bool:
        """A queue's caller rang an agent who did not answer: she waits again, at the head."""
        return self.queue_id is not None and self.dial_status in UNANSWERED_DIAL_STATUSES


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
    offered = [identity for identity in query.get("offered", "").split(",") if identity]
    if len(offered) > OFFERED_MAX or not all(is_identity(identity) for identity in offered):
        raise InvalidCallback("offered is not a list of client identities.")
    return DialAction(
        callback=callback,
        dial_status=dial_status,
        dial_call_sid=dial_call_sid,
        dial_call_duration=optional_counter(form, "DialCallDuration"),
        offered=offered,
        forwarded=query.get("forwarded") == "1",
        queue_id=queue_id_in(query),
    )


def queue_id_in(query: dict[str, str]) -> int | None:
    """The `queue` we wrote into a URL: a row's id; None when absent."""
    value = query.get("queue")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**31:
        raise InvalidCallback("queue is not a queue's id.")
    return int(value)
