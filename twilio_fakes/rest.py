"""A fake of Twilio's REST API, served over real HTTP on loopback.

The 2010-04-01 API's Calls (list, fetch, update), Conferences and their Participants (served
from `conferences`, which also drives them and makes their callbacks), Recordings (list, fetch,
media as .mp3/.wav with Range, delete), Accounts, Keys, Applications, IncomingPhoneNumbers and
OutgoingCallerIds, Chat v2's push
Credentials (where the Voice SDKs' APNs and FCM credentials live) and Voice Insights' Call
Summaries, as the official helper library requests them.

It speaks like Twilio: Basic auth, JSON with Twilio's field names, every value a string or
null, RFC 2822 dates, next_page_uri paging with Page and PageToken, the StartTime>,
StartTime<, ParentCallSid, Status, To and From filters, form-encoded POSTs with Twilio's
parameter names (VoiceUrl, StatusCallback, ...), and Twilio's error bodies. Switches
inject faults: canned answers (429 with Retry-After, 500, 401) for the next requests, an
outage from some page on, and slow answers.

Tests start it in a thread; the benchmarks run `python -m twilio_fakes.rest --generated N`
(calls made up on demand from their position) or `--recording SID:BYTES` (audio made up on
demand, never held in memory) in a process of their own.
"""

import argparse
import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from twilio_fakes.conferences import Conferences, TwilioError

API_VERSION = "2010-04-01"
ACCOUNTS_V1 = "https://accounts.twilio.com"
MAX_PAGE_SIZE = 1000
_CALLS_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Calls(?:/(CA[0-9a-f]{32}))?\.json$"
)
_CONFERENCES_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Conferences(?:/(CF[0-9a-f]{32}))?\.json$"
)
# A conference by SID or (to add participants) by friendly name; a participant by call SID
# or label; both percent-encoded in the path.
_PARTICIPANTS_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Conferences/([^/]+)/Participants(?:/([^/]+))?\.json$"
)
_ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})\.json$")
# An account's own resources: Keys/SK….json, Applications.json, Applications/AP….json, ...
_ACCOUNT_RESOURCE_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/"
    r"(Keys|Applications|IncomingPhoneNumbers|OutgoingCallerIds)(?:/([A-Z]{2}[0-9a-f]{32}))?\.json$"
)
_RECORDINGS_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Recordings(?:/(RE[0-9a-f]{32}))?\.(json|mp3|wav)$"
)
MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/x-wav"}
_MEDIA_WRITE_BYTES = 64 * 1024
_PUSH_CREDENTIALS_PATH = re.compile(r"^/v2/Credentials(?:/(CR[0-9a-f]{32}))?$")
_INSIGHTS_SUMMARY_PATH = re.compile(r"^/v1/Voice/(CA[0-9a-f]{32})/Summary$")
# Accounts API v1: create or delete the secondary Auth Token, promote it to primary.
_SECONDARY_AUTH_TOKEN_PATH = "/v1/AuthTokens/Secondary"
_AUTH_TOKEN_PROMOTION_PATH = "/v1/AuthTokens/Promote"
# The list key of each resource in a 2010 API page.
_LIST_KEYS = {
    "Keys": "keys",
    "Applications": "applications",
    "IncomingPhoneNumbers": "incoming_phone_numbers",
    "OutgoingCallerIds": "outgoing_caller_ids",
}
# POST parameters Twilio takes for Applications and IncomingPhoneNumbers -> resource fields.
_WRITABLE_FIELDS = {
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceApplicationSid": "voice_application_sid",
}


def rfc2822(value: datetime | None) -> str | None:
    return format_datetime(value.astimezone(UTC)) if value else None


def twilio_call(
    *,
    sid: str,
    account_sid: str,
    status: str = "completed",
    parent_call_sid: str | None = None,
    direction: str = "inbound",
    from_: str = "+14155550199",
    to: str = "+14155550100",
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    duration: int | None = None,
    price: str | None = None,
    date_updated: datetime | None = None,
) -> dict:
    """Build a Call resource as Twilio serialises it."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}.json"
    created = start_time or datetime.now(UTC)
    return {
        "sid": sid,
        "date_created": rfc2822(created),
        "date_updated": rfc2822(date_updated or end_time or created),
        "parent_call_sid": parent_call_sid,
        "account_sid": account_sid,
        "to": to,
        "to_formatted": to,
        "from": from_,
        "from_formatted": from_,
        "phone_number_sid": None,
        "status": status,
        "start_time": rfc2822(start_time),
        "end_time": rfc2822(end_time),
        "duration": None if duration is None else str(duration),
        "price": price,
        "price_unit": "USD",
        "direction": direction,
        "answered_by": None,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": uri,
        "subresource_uris": {
            "notifications": uri.replace(".json", "/Notifications.json"),
            "recordings": uri.replace(".json", "/Recordings.json"),
            "events": uri.replace(".json", "/Events.json"),
        },
    }


def twilio_recording(
    *,
    sid: str,
    account_sid: str,
    call_sid: str,
    status: str = "completed",
    source: str = "DialVerb",
    channels: int = 2,
    duration: int = 42,
    start_time: datetime | None = None,
) -> dict:
    """Build a Recording resource as Twilio serialises it."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}.json"
    started = start_time or datetime.now(UTC)
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "call_sid": call_sid,
        "conference_sid": None,
        "date_created": rfc2822(started),
        "date_updated": rfc2822(started + timedelta(seconds=duration)),
        "start_time": rfc2822(started),
        "duration": str(duration),
        "price": None,
        "price_unit": "USD",
        "status": status,
        "channels": channels,
        "source": source,
        "error_code": None,
        "track": "both",
        "uri": uri,
        "media_url": f"https://api.twilio.com{uri[:-5]}",
        "encryption_details": None,
        "subresource_uris": {
            "transcriptions": uri.replace(".json", "/Transcriptions.json"),
            "add_on_results": uri.replace(".json", "/AddOnResults.json"),
        },
    }


@dataclass(frozen=True)
class Media:
    """A recording's audio: given bytes, or `size` bytes made up on demand (a benchmark's
    50 MB never sits in memory)."""

    size: int
    data: bytes | None = None

    @classmethod
    def of(cls, data: bytes) -> "Media":
        return cls(size=len(data), data=data)

    def chunks(self, start: int, end: int):
        """The bytes from start up to end (exclusive), a write at a time."""
        pattern = bytes(range(256)) * (_MEDIA_WRITE_BYTES // 256)
        for offset in range(start, end, _MEDIA_WRITE_BYTES):
            stop = min(offset + _MEDIA_WRITE_BYTES, end)
            if self.data is not None:
                yield self.data[offset:stop]
            else:
                shift = offset % 256
                yield (pattern[shift:] + pattern[:shift])[: stop - offset]


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single `bytes=` range; None when it cannot be served."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match[1] == match[2] == "":
        return None
    if match[1] == "":
        return (max(0, size - int(match[2])), size) if int(match[2]) else None
    start = int(match[1])
    end = min(size, int(match[2]) + 1) if match[2] else size
    return (start, end) if start < end else None


def twilio_call_summary(
    *,
    call_sid: str,
    account_sid: str,
    processing_state: str = "complete",
    tags: list[str] | None = None,
    **fields,
) -> dict:
    """Build a Voice Insights Call Summary as Twilio serialises it; `fields` (call_state,
    properties, client_edge, sdk_edge, ...) replace the defaults of a good client call."""
    return {
        "account_sid": account_sid,
        "call_sid": call_sid,
        "call_type": "client",
        "call_state": "completed",
        "answered_by": "unknown",
        "processing_state": processing_state,
        "created_time": rfc2822(datetime.now(UTC)),
        "start_time": None,
        "end_time": None,
        "duration": 42,
        "connect_duration": 40,
        "from": {"caller": "client:alice"},
        "to": {"callee": "+14155550199"},
        "carrier_edge": None,
        "client_edge": {
            "metrics": {
                "inbound": {
                    "codec_name": "opus",
                    "jitter": {"avg": 1.2, "max": 4.0},
                    "packets_loss_percentage": 0.1,
                },
                "outbound": {
                    "codec_name": "opus",
                    "jitter": {"avg": 0.8, "max": 3.1},
                    "packets_loss_percentage": 0.0,
                },
            }
        },
        "sdk_edge": {
            "metrics": {
                "inbound": {
                    "mos": {"avg": 4.3, "min": 4.1, "max": 4.4},
                    "rtt": {"avg": 80, "min": 60, "max": 120},
                    "jitter": {"avg": 2, "min": 1, "max": 5},
                }
            }
        },
        "sip_edge": None,
        "tags": tags or [],
        "url": f"https://insights.twilio.com/v1/Voice/{call_sid}/Summary",
        "attributes": {"conference_participant": False},
        "properties": {
            "direction": "outbound_to_pstn",
            "disconnected_by": "caller",
            "pdd_ms": 640,
            "last_sip_response_num": 200,
        },
        "trust": None,
        "annotation": None,
        **fields,
    }


def _timestamps() -> dict:
    now = rfc2822(datetime.now(UTC))
    return {"date_created": now, "date_updated": now}


def twilio_account(*, sid: str, friendly_name: str = "Voice", status: str = "active") -> dict:
    """Build an Account resource as Twilio serialises it."""
    uri = f"/{API_VERSION}/Accounts/{sid}.json"
    return {
        "sid": sid,
        "owner_account_sid": sid,
        "friendly_name": friendly_name,
        "status": status,
        "type": "Full",
        "auth_token": "0" * 32,
        "uri": uri,
        "subresource_uris": {"calls": uri.replace(".json", "/Calls.json")},
        **_timestamps(),
    }


def twilio_key(*, sid: str, friendly_name: str = "voice server") -> dict:
    """Build an API Key resource (2010 API) as Twilio serialises it."""
    return {"sid": sid, "friendly_name": friendly_name, **_timestamps()}


# The voice and SMS settings of a fresh TwiML App or number, as Twilio shows them.
_VOICE_DEFAULTS = {
    "voice_url": "",
    "voice_method": "POST",
    "voice_fallback_url": "",
    "voice_fallback_method": "POST",
    "status_callback": "",
    "status_callback_method": "POST",
    "voice_caller_id_lookup": False,
    "sms_url": "",
    "sms_method": "POST",
    "sms_fallback_url": "",
    "sms_fallback_method": "POST",
}


def twilio_application(*, sid: str, account_sid: str, friendly_name: str, **voice) -> dict:
    """Build a TwiML Application resource; voice holds voice_url, status_callback, ..."""
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "friendly_name": friendly_name,
        **_VOICE_DEFAULTS,
        "sms_status_callback": "",
        "message_status_callback": "",
        "public_application_connect_enabled": True,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Applications/{sid}.json",
        **_timestamps(),
        **voice,
    }


def twilio_incoming_number(*, sid: str, account_sid: str, phone_number: str, **voice) -> dict:
    """Build an IncomingPhoneNumber resource; voice holds voice_url, voice_application_sid, ..."""
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "friendly_name": phone_number,
        "phone_number": phone_number,
        "origin": "twilio",
        "status": "in-use",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        **_VOICE_DEFAULTS,
        "voice_application_sid": "",
        "voice_receive_mode": "voice",
        "sms_application_sid": "",
        "trunk_sid": None,
        "address_sid": None,
        "address_requirements": "none",
        "identity_sid": None,
        "bundle_sid": None,
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json",
        **_timestamps(),
        **voice,
    }


def twilio_caller_id(*, sid: str, account_sid: str, phone_number: str) -> dict:
    """Build an OutgoingCallerId resource (a verified caller ID)."""
    return {
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": phone_number,
        "phone_number": phone_number,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/OutgoingCallerIds/{sid}.json",
        **_timestamps(),
    }


def twilio_push_credential(
    *, sid: str, account_sid: str, type: str, sandbox: bool = False, friendly_name: str = ""
) -> dict:
    """Build a Chat v2 Credential resource: type apn, fcm or gcm; sandbox for APNs only."""
    return {
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": friendly_name or f"voice push ({type})",
        "type": type,
        "sandbox": str(sandbox).lower() if type == "apn" else None,
        "url": f"https://chat.twilio.com/v2/Credentials/{sid}",
        **_timestamps(),
    }


def parse_filter_time(value: str) -> datetime:
    """Read a StartTime filter: a date (2026-11-23) or a UTC time (2026-11-23T18:30:45Z)."""
    if "T" in value:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)


class StoredCalls:
    """Calls held in memory, listed newest first like Twilio does."""

    def __init__(self):
        self.by_sid: dict[str, dict] = {}
        self.lock = threading.Lock()

    def put(self, call: dict) -> dict:
        with self.lock:
            self.by_sid[call["sid"]] = call
        return call

    def get(self, sid: str) -> dict | None:
        return self.by_sid.get(sid)

    def matching(self, filters: dict[str, str]) -> Sequence[dict]:
        after = filters.get("StartTime>")
        before = filters.get("StartTime<")
        after = after and parse_filter_time(after)
        before = before and parse_filter_time(before)
        with self.lock:
            calls = list(self.by_sid.values())
        found = []
        for call in calls:
            start = _start_of(call)
            if after and (start is None or start < after):
                continue
            if before and (start is None or start >= before):
                continue
            if any(
                name in filters and call[key] != filters[name]
                for name, key in [
                    ("ParentCallSid", "parent_call_sid"),
                    ("Status", "status"),
                    ("To", "to"),
                    ("From", "from"),
                ]
            ):
                continue
            found.append(call)
        oldest = datetime.min.replace(tzinfo=UTC)
        found.sort(key=lambda call: (_start_of(call) or oldest, call["sid"]), reverse=True)
        return found


def _start_of(call: dict) -> datetime | None:
    if not call["start_time"]:
        return None
    return datetime.strptime(call["start_time"], "%a, %d %b %Y %H:%M:%S %z")


class GeneratedCalls(Sequence):
    """N calls made up from their position: pairs of a parent and its <Dial> child to an agent.

    Only the StartTime> filter is honoured; position 0 is the newest call.
    """

    def __init__(self, count: int, account_sid: str, newest: datetime, agents: int = 10):
        self.count = count
        self.account_sid = account_sid
        self.newest = newest
        self.agents = agents

    @staticmethod
    def sid(position: int) -> str:
        return f"CA{position:032x}"

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(self.count))]
        family, is_parent = divmod(index, 2)
        parent_start = self.newest - timedelta(seconds=6 * family)
        common = {"account_sid": self.account_sid, "status": "completed", "price": "-0.01300"}
        if is_parent:
            return twilio_call(
                sid=self.sid(index),
                start_time=parent_start,
                end_time=parent_start + timedelta(seconds=30),
                duration=30,
                **common,
            )
        return twilio_call(
            sid=self.sid(index),
            parent_call_sid=self.sid(index + 1),
            direction="outbound-dial",
            to=f"client:agent_{family % self.agents}",
            start_time=parent_start + timedelta(seconds=2),
            end_time=parent_start + timedelta(seconds=30),
            duration=28,
            **common,
        )

    def get(self, sid: str) -> dict | None:
        position = int(sid[2:], 16)
        return self[position] if position < self.count else None

    def matching(self, filters: dict[str, str]) -> Sequence[dict]:
        after = filters.get("StartTime>")
        if not after:
            return self
        # Positions are newest first, so the calls started after a time are a prefix.
        seconds = (self.newest - parse_filter_time(after)).total_seconds()
        families = max(0, int(seconds // 6) + 1)
        return GeneratedCalls(min(self.count, 2 * families), self.account_sid, self.newest)


@dataclass
class Fault:
    """How to answer one request: an error status, or (status None) the normal answer late."""

    status: int | None
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class FakeTwilio:
    """The fake API and its switches; start() serves it on an ephemeral loopback port."""

    account_sid: str
    credentials: set[tuple[str, str]]
    # The Auth Token Twilio signs webhooks with (the account's primary), and the secondary
    # one made during a rotation; both open the API as the account SID's password.
    auth_token: str = "0" * 32
    secondary_auth_token: str | None = None
    calls: StoredCalls | GeneratedCalls = field(default_factory=StoredCalls)
    outage_from_page: int | None = None
    faults: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)
    # The account's resources by kind (Keys, Applications, IncomingPhoneNumbers,
    # OutgoingCallerIds), each by SID; Chat's push credentials by SID.
    resources: dict[str, dict[str, dict]] = field(
        default_factory=lambda: {kind: {} for kind in _LIST_KEYS}
    )
    push_credentials: dict[str, dict] = field(default_factory=dict)
    # Every POST: (path, its form parameters).
    writes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # Recordings by SID and their audio; the SIDs DELETE removed, in order.
    recordings: dict[str, dict] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    deleted_recordings: list[str] = field(default_factory=list)
    # Paths answered with a 302 to another URL, as Twilio sends media to its storage.
    redirects: dict[str, str] = field(default_factory=dict)
    # Voice Insights: each call's summaries, answered in turn (the last one from then on),
    # and whether the account has Insights' Advanced Features (403 for every call if not).
    call_summaries: dict[str, deque] = field(default_factory=dict)
    insights_enabled: bool = True

    def __post_init__(self):
        self.account = twilio_account(sid=self.account_sid)
        self.account["auth_token"] = self.auth_token
        self.credentials.add((self.account_sid, self.auth_token))
        # Conferences, their participants' calls and the callbacks both make (the driver).
        self.conferences = Conferences(
            account_sid=self.account_sid,
            calls=self.calls,
            add_call=self.add_call,
            auth_token=lambda: self.auth_token,
        )

    def create_secondary_auth_token(self) -> str:
        self.delete_secondary_auth_token()
        self.secondary_auth_token = secrets.token_hex(16)
        self.credentials.add((self.account_sid, self.secondary_auth_token))
        return self.secondary_auth_token

    def delete_secondary_auth_token(self) -> None:
        if self.secondary_auth_token:
            self.credentials.discard((self.account_sid, self.secondary_auth_token))
        self.secondary_auth_token = None

    def promote_secondary_auth_token(self) -> None:
        """The secondary becomes the primary; the old primary stops working at once."""
        assert self.secondary_auth_token
        self.credentials.discard((self.account_sid, self.auth_token))
        self.auth_token, self.secondary_auth_token = self.secondary_auth_token, None
        self.account["auth_token"] = self.auth_token

    def start(self) -> "FakeTwilio":
        fake = self

        class Handler(_Handler):
            twilio = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add_call(self, sid: str, **fields) -> dict:
        return self.calls.put(twilio_call(sid=sid, account_sid=self.account_sid, **fields))

    def add_recording(
        self, call_sid: str, *, media: bytes | Media = b"ID3 fake audio", sid: str = "", **fields
    ) -> dict:
        """A recording of call_sid, with its audio; `fields` as twilio_recording takes them."""
        sid = sid or "RE" + secrets.token_hex(16)
        self.recordings[sid] = twilio_recording(
            sid=sid, account_sid=self.account_sid, call_sid=call_sid, **fields
        )
        self.media[sid] = media if isinstance(media, Media) else Media.of(media)
        return self.recordings[sid]

    def add_call_summaries(self, call_sid: str, *summaries: dict) -> None:
        """The summaries GET answers for call_sid in turn, e.g. a partial then a complete one;
        each as twilio_call_summary's keyword arguments."""
        self.call_summaries[call_sid] = deque(
            twilio_call_summary(call_sid=call_sid, account_sid=self.account_sid, **summary)
            for summary in summaries
        )

    def media_url(self, sid: str, extension: str = "mp3") -> str:
        account = f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}"
        return f"{account}/Recordings/{sid}.{extension}"

    def redirect(self, url: str, location: str) -> None:
        """Answer requests for url (on this fake) with a 302 to location."""
        self.redirects[urlsplit(url).path] = location

    def add_key(self, sid: str) -> dict:
        return self._put("Keys", twilio_key(sid=sid))

    def add_application(self, friendly_name: str = "Softphone", **voice) -> dict:
        sid = "AP" + secrets.token_hex(16)
        return self._put(
            "Applications",
            twilio_application(
                sid=sid, account_sid=self.account_sid, friendly_name=friendly_name, **voice
            ),
        )

    def add_number(self, phone_number: str, **voice) -> dict:
        sid = "PN" + secrets.token_hex(16)
        return self._put(
            "IncomingPhoneNumbers",
            twilio_incoming_number(
                sid=sid, account_sid=self.account_sid, phone_number=phone_number, **voice
            ),
        )

    def add_caller_id(self, phone_number: str) -> dict:
        sid = "PN" + secrets.token_hex(16)
        return self._put(
            "OutgoingCallerIds",
            twilio_caller_id(sid=sid, account_sid=self.account_sid, phone_number=phone_number),
        )

    def add_push_credential(self, type: str, sandbox: bool = False) -> dict:
        sid = "CR" + secrets.token_hex(16)
        credential = twilio_push_credential(
            sid=sid, account_sid=self.account_sid, type=type, sandbox=sandbox
        )
        self.push_credentials[sid] = credential
        return credential

    def applications(self) -> list[dict]:
        return list(self.resources["Applications"].values())

    def numbers(self) -> list[dict]:
        return list(self.resources["IncomingPhoneNumbers"].values())

    def _put(self, kind: str, resource: dict) -> dict:
        self.resources[kind][resource["sid"]] = resource
        return resource

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.faults.extend(Fault(status, retry_after) for _ in range(count))

    def slow_next(self, count: int, delay: float) -> None:
        self.faults.extend(Fault(None, delay=delay) for _ in range(count))

    def list_requests(self) -> list[str]:
        return [path for method, path, at in self.requests if "/Calls.json" in path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    twilio: FakeTwilio

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method: str):
        fake = self.twilio
        fake.requests.append((method, self.path, time.monotonic()))
        length = int(self.headers.get("Content-Length") or 0)
        # As pairs too: a list parameter (StatusCallbackEvent) repeats its name.
        pairs = parse_qsl(self.rfile.read(length).decode()) if length else []
        form = dict(pairs)
        if not self._authorized():
            return self._error(401, 20003, "Authenticate")
        fault = fake.faults.popleft() if fake.faults else Fault(None)
        time.sleep(fault.delay)
        if fault.status == 429:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._error(429, 20429, "Too Many Requests", headers)
        if fault.status:
            return self._error(fault.status, 20500, "Internal Server Error")
        url = urlsplit(self.path)
        if url.path in fake.redirects:
            self.send_response(302)
            self.send_header("Location", fake.redirects[url.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if method == "POST":
            fake.writes.append((url.path, form))
        query = dict(parse_qsl(url.query))
        try:
            if match := _CALLS_PATH.match(url.path):
                if match[1] != fake.account_sid or (method, bool(match[2])) not in {
                    ("GET", True),
                    ("GET", False),
                    ("POST", True),
                }:
                    return self._not_found(url.path)
                if method == "POST":
                    return self._send(200, fake.conferences.update_call(url.path, match[2], form))
                if match[2]:
                    return self._found(fake.calls.get(match[2]), url.path)
                return self._page(url.path, "calls", query, fake.calls.matching)
            if match := _CONFERENCES_PATH.match(url.path):
                if match[1] != fake.account_sid:
                    return self._not_found(url.path)
                return self._conference(method, url.path, match[2], form, query)
            if match := _PARTICIPANTS_PATH.match(url.path):
                if match[1] != fake.account_sid:
                    return self._not_found(url.path)
                key, participant = unquote(match[2]), match[3] and unquote(match[3])
                return self._participant(method, url.path, key, participant, pairs, query)
        except TwilioError as error:
            return self._error(error.status, error.code, error.message)
        if match := _RECORDINGS_PATH.match(url.path):
            if match[1] != fake.account_sid:
                return self._not_found(url.path)
            return self._recording(method, url.path, match[2], match[3], query)
        if match := _ACCOUNT_PATH.match(url.path):
            if method != "GET" or match[1] != fake.account_sid:
                return self._not_found(url.path)
            return self._send(200, fake.account)
        if match := _ACCOUNT_RESOURCE_PATH.match(url.path):
            if match[1] != fake.account_sid:
                return self._not_found(url.path)
            return self._account_resource(method, url.path, match[2], match[3], form)
        if url.path in (_SECONDARY_AUTH_TOKEN_PATH, _AUTH_TOKEN_PROMOTION_PATH):
            return self._auth_token(method, url.path)
        if (match := _INSIGHTS_SUMMARY_PATH.match(url.path)) and method == "GET":
            return self._call_summary(url.path, match[1])
        if (match := _PUSH_CREDENTIALS_PATH.match(url.path)) and method == "GET":
            if match[1]:
                return self._found(fake.push_credentials.get(match[1]), url.path)
            return self._chat_page(url.path, "credentials", list(fake.push_credentials.values()))
        return self._not_found(url.path)

    def _conference(self, method, path, sid, form, query):
        """List conferences, fetch one, or update one (end it)."""
        conferences = self.twilio.conferences
        if sid is None and method == "GET":
            return self._page(path, "conferences", query, conferences.list_conferences)
        if sid and method == "GET":
            return self._send(200, conferences.fetch_conference(path, sid))
        if sid and method == "POST":
            return self._send(200, conferences.update_conference(path, sid, form))
        return self._error(405, 20004, "Method not allowed")

    def _participant(self, method, path, key, call_sid_or_label, pairs, query):
        """List, add, fetch, update or remove a conference's participants."""
        conferences = self.twilio.conferences
        if call_sid_or_label is None:
            if method == "GET":
                return self._page(
                    path,
                    "participants",
                    query,
                    lambda filters: conferences.list_participants(path, key, filters),
                )
            if method == "POST":
                return self._send(201, conferences.create_participant(path, key, pairs))
        elif method == "GET":
            return self._send(200, conferences.fetch_participant(path, key, call_sid_or_label))
        elif method == "POST":
            return self._send(
                200, conferences.update_participant(path, key, call_sid_or_label, dict(pairs))
            )
        elif method == "DELETE":
            conferences.delete_participant(path, key, call_sid_or_label)
            return self._send_empty(204)
        return self._error(405, 20004, "Method not allowed")

    def _call_summary(self, path: str, call_sid: str):
        fake = self.twilio
        if not fake.insights_enabled:
            return self._error(
                403, 20403, "Voice Insights Advanced Features are not enabled for this account."
            )
        summaries = fake.call_summaries.get(call_sid)
        if not summaries:
            return self._not_found(path)
        summary = summaries.popleft() if len(summaries) > 1 else summaries[0]
        return self._send(200, summary)

    def _account_resource(self, method, path, kind, sid, form):
        """Fetch, list, create (Applications) or update (Applications, numbers) a resource."""
        stored = self.twilio.resources[kind]
        writable = kind in {"Applications", "IncomingPhoneNumbers"}
        if method == "GET":
            if sid:
                return self._found(stored.get(sid), path)
            return self._small_page(path, _LIST_KEYS[kind], list(stored.values()))
        if not writable or (sid is None and kind != "Applications"):
            return self._error(405, 20004, "Method not allowed")
        changes = {
            _WRITABLE_FIELDS[name]: value
            for name, value in form.items()
            if name in _WRITABLE_FIELDS
        }
        if sid is None:
            created = self.twilio.add_application(**changes)
            return self._send(201, created)
        resource = stored.get(sid)
        if resource is None:
            return self._not_found(path)
        resource.update(changes, date_updated=rfc2822(datetime.now(UTC)))
        return self._send(200, resource)

    def _auth_token(self, method: str, path: str):
        """Accounts v1: POST or DELETE the secondary Auth Token, POST its promotion."""
        fake = self.twilio
        resource = {"account_sid": fake.account_sid, **_timestamps(), "url": ACCOUNTS_V1 + path}
        if path == _SECONDARY_AUTH_TOKEN_PATH and method == "POST":
            token = fake.create_secondary_auth_token()
            return self._send(201, {**resource, "secondary_auth_token": token})
        if path == _SECONDARY_AUTH_TOKEN_PATH and method == "DELETE":
            if not fake.secondary_auth_token:
                return self._not_found(path)
            fake.delete_secondary_auth_token()
            return self._send_empty(204)
        if path == _AUTH_TOKEN_PROMOTION_PATH and method == "POST":
            if not fake.secondary_auth_token:
                return self._error(400, 20001, "There is no secondary Auth Token to promote.")
            fake.promote_secondary_auth_token()
            return self._send(200, {**resource, "auth_token": fake.auth_token})
        return self._error(405, 20004, "Method not allowed")

    def _recording(self, method, path, sid, extension, query):
        """List or fetch recordings, serve one's audio (with Range), or delete one."""
        fake = self.twilio
        if sid is None:
            if method != "GET" or extension != "json":
                return self._error(405, 20004, "Method not allowed")
            return self._small_page(path, "recordings", _matching_recordings(fake, query))
        if sid not in fake.recordings:
            return self._not_found(path)
        if method == "DELETE" and extension == "json":
            del fake.recordings[sid]
            del fake.media[sid]
            fake.deleted_recordings.append(sid)
            return self._send_empty(204)
        if method != "GET":
            return self._error(405, 20004, "Method not allowed")
        if extension == "json":
            return self._send(200, fake.recordings[sid])
        return self._media(fake.media[sid], MEDIA_TYPES[extension])

    def _media(self, media: Media, content_type: str):
        start, end, status = 0, media.size, 200
        if "Range" in self.headers:
            served = byte_range(self.headers["Range"], media.size)
            if served is None:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{media.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            (start, end), status = served, 206
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{media.size}")
        self.end_headers()
        try:
            for chunk in media.chunks(start, end):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _small_page(self, path: str, key: str, records: list[dict]):
        """One page of a 2010 API list, the way Twilio pages anything under 50 records."""
        uri = f"{path}?PageSize=50&Page=0"
        self._send(
            200,
            {
                key: records,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": max(0, len(records) - 1),
                "uri": uri,
            },
        )

    def _chat_page(self, path: str, key: str, records: list[dict]):
        """One page of a v1/v2 API list: the records and a `meta` block."""
        url = f"https://chat.twilio.com{path}?PageSize=50&Page=0"
        meta = {
            "page": 0,
            "page_size": 50,
            "first_page_url": url,
            "previous_page_url": None,
            "next_page_url": None,
            "url": url,
            "key": key,
        }
        self._send(200, {key: records, "meta": meta})

    def _found(self, resource: dict | None, path: str):
        if resource is None:
            return self._not_found(path)
        return self._send(200, resource)

    def _not_found(self, path: str):
        return self._error(404, 20404, f"The requested resource {path} was not found")

    def _page(self, path: str, key: str, query: dict[str, str], matching):
        """A page of a 2010 API list: `matching` finds the records for the query's filters."""
        fake = self.twilio
        page_size = min(int(query.get("PageSize", 50)), MAX_PAGE_SIZE)
        page = int(query.get("Page", 0))
        if fake.outage_from_page is not None and page >= fake.outage_from_page:
            return self._error(500, 20500, "Internal Server Error")
        offset = int(query.get("PageToken", "PT0")[2:]) if page else 0
        filters = {
            name: value
            for name, value in query.items()
            if name not in {"PageSize", "Page", "PageToken"}
        }
        found = matching(filters)
        records = list(found[offset : offset + page_size])

        def page_uri(number: int, token: int | None = None) -> str:
            params = {**filters, "PageSize": page_size, "Page": number}
            if token is not None:
                params["PageToken"] = f"PT{token}"
            return f"{path}?{urlencode(params)}"

        more = offset + page_size < len(found)
        self._send(
            200,
            {
                key: records,
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1, offset + page_size) if more else None,
                "previous_page_uri": page_uri(page - 1, max(0, offset - page_size))
                if page
                else None,
                "page": page,
                "page_size": page_size,
                "start": offset,
                "end": offset + len(records) - 1,
                "uri": page_uri(page, offset) if page else page_uri(0),
            },
        )

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return (username, password) in self.twilio.credentials

    def _error(self, status: int, code: int, message: str, headers: dict | None = None):
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        extra = dict(headers or {})
        if status == 401:
            extra["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        self._send(status, body, extra)

    def _send_empty(self, status: int):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _matching_recordings(fake: FakeTwilio, query: dict[str, str]) -> list[dict]:
    """Recordings newest first, filtered by CallSid and DateCreated> / DateCreated<."""
    after = query.get("DateCreated>")
    before = query.get("DateCreated<")
    found = []
    for recording in list(fake.recordings.values()):
        created = datetime.strptime(recording["date_created"], "%a, %d %b %Y %H:%M:%S %z")
        if "CallSid" in query and recording["call_sid"] != query["CallSid"]:
            continue
        if after and created < parse_filter_time(after):
            continue
        if before and created >= parse_filter_time(before):
            continue
        found.append(recording)
    return sorted(found, key=lambda recording: recording["date_created"], reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve generated calls like Twilio's API.")
    parser.add_argument("--generated", type=int, default=0, help="how many calls")
    parser.add_argument(
        "--recording", action="append", default=[], help="SID:BYTES, a recording of that size"
    )
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--newest", required=True, help="ISO start time of the newest call")
    arguments = parser.parse_args()
    fake = FakeTwilio(
        account_sid=arguments.account_sid,
        credentials={(arguments.username, arguments.password)},
        calls=GeneratedCalls(
            arguments.generated, arguments.account_sid, datetime.fromisoformat(arguments.newest)
        ),
    )
    for recording in arguments.recording:
        sid, size = recording.split(":")
        fake.add_recording("CA" + "0" * 32, sid=sid, media=Media(size=int(size)))
    fake.start()
    print(fake.base_url, flush=True)
    try:
        fake.thread.join()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
