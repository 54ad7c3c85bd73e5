"""Read Twilio's error reports into typed values: the Console's Debugger webhook (one form per
error) and Event Streams' `com.twilio.error-logs.error.logged` CloudEvents (a JSON array)."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calls.deliveries.calls import InvalidCallback
from voiceproject.twilio_ids import is_account_sid, is_plausible_call_time, is_sid, sid_error

ERROR_LOGGED_TYPE = "com.twilio.error-logs.error.logged"
# An event's id: a Debugger Sid (NO…) or any CloudEvent id, which Event Streams makes unique.
EVENT_ID_MAX_LENGTH = 64
# Any Twilio resource: two capital letters and 32 hex digits.
RESOURCE_SID_PATTERN = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
LEVEL_MAX_LENGTH = 16
# Pages show the message; Twilio's are a sentence or two.
MESSAGE_MAX_LENGTH = 1000
REQUEST_URL_MAX_LENGTH = 1000


@dataclass(frozen=True)
class TwilioErrorReport:
    """One error (or warning) Twilio logged for this account."""

    account_sid: str
    event_id: str
    code: int
    level: str
    message: str
    resource_sid: str
    request_url: str
    occurred_at: datetime


def parse_debugger_event(
    form: dict[str, str], query: dict[str, str], *, received_at: datetime
) -> TwilioErrorReport:
    """Read the Debugger webhook's form; raise InvalidCallback naming the first bad field."""
    if any("\x00" in name or "\x00" in value for name, value in form.items()):
        raise InvalidCallback("A parameter name or value contains a NUL byte.")
    account_sid = form.get("AccountSid", "")
    if not is_account_sid(account_sid):
        raise InvalidCallback("AccountSid is missing or is not an account SID.")
    sid = form.get("Sid", "")
    if not is_sid(sid, prefix="NO"):
        raise InvalidCallback(sid_error(name="Sid", prefix="NO"))
    payload = _json_object(form.get("Payload", ""), name="Payload")
    return _report(
        account_sid=account_sid,
        event_id=sid,
        level=form.get("Level", ""),
        when=form.get("Timestamp", ""),
        payload=payload,
        code=payload.get("error_code"),
        resource_sid=payload.get("resource_sid"),
        received_at=received_at,
    )


@dataclass(frozen=True)
class ErrorEventBatch:
    """The error reports read from one Event Streams delivery, and why any event was refused."""

    reports: list[TwilioErrorReport]
    refused: list[str]


def parse_error_log_events(events: list[Any], *, received_at: datetime) -> ErrorEventBatch:
    """Read a batch of CloudEvents; events of other types are skipped, so that one sink can
    carry them. A malformed event is refused on its own, so that the others are still kept:
    Event Streams does not retry a batch answered 4xx."""
    reports, refused = [], []
    for event in events:
        try:
            report = _error_log_event(event, received_at=received_at)
        except InvalidCallback as error:
            refused.append(str(error))
            continue
        if report is not None:
            reports.append(report)
    return ErrorEventBatch(reports=reports, refused=refused)


def _error_log_event(event: object, *, received_at: datetime) -> TwilioErrorReport | None:
    if not isinstance(event, dict):
        raise InvalidCallback("An event is not a JSON object.")
    if event.get("type") != ERROR_LOGGED_TYPE:
        return None
    event_id = event.get("id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= EVENT_ID_MAX_LENGTH:
        raise InvalidCallback(f"An event's id is missing or longer than {EVENT_ID_MAX_LENGTH}.")
    if not event_id.isprintable():
        raise InvalidCallback("An event's id has control characters.")
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidCallback(f"Event {event_id!r} has no data object.")
    account_sid = data.get("account_sid")
    if not isinstance(account_sid, str) or not is_account_sid(account_sid):
        raise InvalidCallback(f"Event {event_id!r}: account_sid is not an account SID.")
    payload = data.get("payload") or {}
    if isinstance(payload, str):
        payload = _json_object(payload, name="payload")
    if not isinstance(payload, dict):
        raise InvalidCallback(f"Event {event_id!r}: payload is not an object.")
    return _report(
        account_sid=account_sid,
        event_id=event_id,
        level=data.get("level"),
        when=data.get("date_created") or event.get("time"),
        payload=payload,
        code=data.get("error_code", payload.get("error_code")),
        resource_sid=data.get("resource_sid") or payload.get("resource_sid"),
        received_at=received_at,
        request_url=data.get("request_url"),
    )


def _report(
    *,
    account_sid: str,
    event_id: str,
    level: object,
    when: object,
    payload: Mapping[str, Any],
    code: object,
    resource_sid: object,
    received_at: datetime,
    request_url: object = None,
) -> TwilioErrorReport:
    more_info = payload.get("more_info")
    more_info = more_info if isinstance(more_info, dict) else {}
    if code in (None, ""):
        code = more_info.get("ErrorCode")
    return TwilioErrorReport(
        account_sid=account_sid,
        event_id=event_id,
        code=_error_code(code),
        level=_text(level, name="Level", limit=LEVEL_MAX_LENGTH).capitalize(),
        message=_text(more_info.get("Msg"), name="Msg", limit=MESSAGE_MAX_LENGTH),
        resource_sid=_resource_sid(resource_sid),
        request_url=_text(
            request_url or _requested_url(payload) or more_info.get("url"),
            name="the request URL",
            limit=REQUEST_URL_MAX_LENGTH,
        ),
        occurred_at=_occurred_at(when, received_at=received_at),
    )


def _json_object(text: str, *, name: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidCallback(f"{name} is not JSON.") from None
    if not isinstance(document, dict):
        raise InvalidCallback(f"{name} is not a JSON object.")
    return document


def _error_code(value: object) -> int:
    """Twilio sends the code as a string ("11200") or a number; 5 digits at most."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 100_000:
        raise InvalidCallback("error_code is missing or is not a Twilio error code.")
    return int(text)


def _text(value: object, *, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidCallback(f"{name} is not text.")
    if "\x00" in value:
        raise InvalidCallback(f"{name} contains a NUL byte.")
    # Longer than pages show is cut, never refused: the error itself is what matters.
    return value[:limit]


def _resource_sid(value: object) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not RESOURCE_SID_PATTERN.fullmatch(value):
        raise InvalidCallback("resource_sid is not a Twilio SID.")
    return value


def _requested_url(payload: Mapping[str, Any]) -> object:
    webhook = payload.get("webhook")
    request = webhook.get("request") if isinstance(webhook, dict) else None
    return request.get("url") if isinstance(request, dict) else None


def _occurred_at(value: object, *, received_at: datetime) -> datetime:
    """Twilio's ISO 8601 time in UTC; when we received it if absent."""
    if value in (None, ""):
        return received_at
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidCallback("The error's time is not an ISO 8601 time with its zone.")
    moment = moment.astimezone(UTC)
    if not is_plausible_call_time(moment, now=received_at):
        raise InvalidCallback("The error's time is not a time Twilio could report.")
    return moment
