"""A fake of Twilio's Calls REST API (2010-04-01), served over real HTTP on loopback.

It speaks like Twilio: Basic auth, JSON with Twilio's field names, every value a string or
null, RFC 2822 dates, next_page_uri paging with Page and PageToken, the StartTime>,
StartTime<, ParentCallSid, Status, To and From filters, and Twilio's error bodies. Switches
inject faults: canned answers (429 with Retry-After, 500, 401) for the next requests, an
outage from some page on, and slow answers.

Tests start it in a thread; the benchmark runs `python -m tests.fake_twilio --generated N`
in its own process, where the calls are made up on demand from their position.
"""

import argparse
import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

API_VERSION = "2010-04-01"
MAX_PAGE_SIZE = 1000
_CALLS_PATH = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Calls(?:/(CA[0-9a-f]{32}))?\.json$"
)


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
    calls: StoredCalls | GeneratedCalls = field(default_factory=StoredCalls)
    outage_from_page: int | None = None
    faults: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)

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
        fake = self.twilio
        fake.requests.append(("GET", self.path, time.monotonic()))
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
        match = _CALLS_PATH.match(url.path)
        if not match or match[1] != fake.account_sid:
            return self._error(404, 20404, "The requested resource was not found")
        if match[2]:
            call = fake.calls.get(match[2])
            if call is None:
                return self._error(404, 20404, f"The requested resource {url.path} was not found")
            return self._send(200, call)
        return self._list(url.path, dict(parse_qsl(url.query)))

    def _list(self, path: str, query: dict[str, str]):
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
        matching = fake.calls.matching(filters)
        calls = list(matching[offset : offset + page_size])

        def page_uri(number: int, token: int | None = None) -> str:
            params = {**filters, "PageSize": page_size, "Page": number}
            if token is not None:
                params["PageToken"] = f"PT{token}"
            return f"{path}?{urlencode(params)}"

        more = offset + page_size < len(matching)
        self._send(
            200,
            {
                "calls": calls,
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1, offset + page_size) if more else None,
                "previous_page_uri": page_uri(page - 1, max(0, offset - page_size))
                if page
                else None,
                "page": page,
                "page_size": page_size,
                "start": offset,
                "end": offset + len(calls) - 1,
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

    def _send(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve generated calls like Twilio's API.")
    parser.add_argument("--generated", type=int, required=True, help="how many calls")
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
    ).start()
    print(fake.base_url, flush=True)
    try:
        fake.thread.join()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
