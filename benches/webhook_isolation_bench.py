"""Measure how long a status callback waits while analysts run slow exports and charts.

Builds its own database of call legs (90 days), then for each web server layout starts
gunicorn from gunicorn.conf.py with DEBUG=0 on loopback, keeps CSV exports of every leg in
flight with readers that take 40 KB/s (a slow link; four, or 48 asked for by the one analyst,
of which the stream limits serve four), and four chart requests over 90 days of legs running
back to back, and meanwhile sends signed status callbacks one after another, timing each
answer at the client.

    python benches/webhook_isolation_bench.py [--legs 300000] [--callbacks 40]

Exits 1 when the production layout (gunicorn.conf.py's pool, beside one analyst's 48 slow
exports) answers a callback in 1 s or more.
"""

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.calllog_bench import analyst_session_cookie, generate_data  # noqa: E402
from benches.harness import database_url, fresh_database, gunicorn  # noqa: E402

DATABASE = "webhook_isolation_bench"
ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "webhook-isolation-bench-auth-token"
CHART_REQUESTS = 4
READ_BYTES_PER_SECOND = 40_000
CALLBACK_MAX_SECONDS = 1.0

ENVIRONMENT = {
    **os.environ,
    "DATABASE_URL": database_url(DATABASE),
    "DEBUG": "0",
    "HTTPS_ONLY": "0",
    "SECRET_KEY": "webhook-isolation-bench-secret-key-not-for-production",
    "ALLOWED_HOSTS": "127.0.0.1",
    "STATIC_ROOT": tempfile.mkdtemp(prefix="webhook-isolation-bench-static-"),
    # A benchmark needs no beat: production refuses to run without Redis otherwise.
    "ALLOW_UNSAFE": "no-redis",
    "LOG_LEVEL": "WARNING",
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
}

# name: (what it is, the analysts' pool, the pool callbacks go to: None for the same one,
# slow readers)
ONE_POOL_2_X_4 = {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"}
ONE_POOL_2_X_16 = {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "16"}
LAYOUTS = {
    "2x4": ("one pool, 2 processes x 4 threads", ONE_POOL_2_X_4, None, 4),
    "2x16": ("one pool, 2 processes x 16 threads", ONE_POOL_2_X_16, None, 4),
    "own-pool": (
        "/twilio/ in a pool of its own",
        ONE_POOL_2_X_4,
        {"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4"},
        4,
    ),
    "48-readers": ("48 readers, one pool, 2 x 16 (production)", ONE_POOL_2_X_16, None, 48),
}
PRODUCTION = "48-readers"


def slow_reader(base_url: str, cookie: str, stop: threading.Event) -> None:
    """Download the CSV export of every leg at READ_BYTES_PER_SECOND until told to stop."""
    address = urllib.parse.urlsplit(base_url)
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
        connection.connect((address.hostname, address.port))
        connection.sendall(
            f"GET /calls/export.csv HTTP/1.1\r\nHost: {address.netloc}\r\nCookie: {cookie}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        chunk = READ_BYTES_PER_SECOND // 10
        while not stop.is_set() and connection.recv(chunk):
            time.sleep(0.1)


def chart_requests(base_url: str, cookie: str, stop: threading.Event) -> None:
    """Ask for the charts of 90 days of legs, again and again."""
    today = datetime.now(UTC).date()
    query = urllib.parse.urlencode(
        {"started_after": (today - timedelta(days=89)).isoformat(), "started_before": today}
    )
    request = urllib.request.Request(f"{base_url}/calls/stats/?{query}", headers={"Cookie": cookie})
    while not stop.is_set():
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()


def signed_callback_seconds(base_url: str) -> float:
    """Send one signed 'completed' status callback about a new leg; time its answer."""
    url = f"{base_url}/twilio/status/"
    parameters = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": "CA" + secrets.token_hex(16),
        "CallStatus": "completed",
        "CallDuration": "42",
        "Direction": "inbound",
        "From": "+14155550199",
        "To": "+14155550100",
        "SequenceNumber": "3",
        "Timestamp": format_datetime(datetime.now(UTC)),
    }
    payload = url + "".join(name + parameters[name] for name in sorted(parameters))
    digest = hmac.new(AUTH_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(parameters).encode(),
        headers={"X-Twilio-Signature": base64.b64encode(digest).decode()},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 204, response.status
    return time.perf_counter() - started


def measure(
    name: str, analysts: dict, webhooks: dict | None, readers: int, cookie: str, count: int
) -> float:
    with ExitStack() as servers:
        analysts_url, _ = servers.enter_context(
            gunicorn("voiceproject.wsgi", options=[], environment={**ENVIRONMENT, **analysts})
        )
        webhooks_url = analysts_url
        if webhooks is not None:
            webhooks_url, _ = servers.enter_context(
                gunicorn("voiceproject.wsgi", options=[], environment={**ENVIRONMENT, **webhooks})
            )
        stop = threading.Event()
        load = [
            threading.Thread(target=slow_reader, args=(analysts_url, cookie, stop), daemon=True)
            for _ in range(readers)
        ] + [
            threading.Thread(target=chart_requests, args=(analysts_url, cookie, stop), daemon=True)
            for _ in range(CHART_REQUESTS)
        ]
        for thread in load:
            thread.start()
        time.sleep(3)  # every slow request under way
        timings = []
        for _ in range(count):
            timings.append(signed_callback_seconds(webhooks_url))
            time.sleep(0.2)
        stop.set()
    print(
        f"{name:<45} callback p50 {statistics.median(timings) * 1000:7.0f} ms"
        f"  p95 {statistics.quantiles(timings, n=20)[-1] * 1000:7.0f} ms"
        f"  max {max(timings) * 1000:7.0f} ms"
    )
    return max(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", type=int, default=300_000, help="call legs in the database")
    parser.add_argument("--callbacks", type=int, default=40, help="timed callbacks per layout")
    parser.add_argument(
        "--layout", action="append", choices=list(LAYOUTS), help="only these (repeat); default all"
    )
    arguments = parser.parse_args()

    with fresh_database(DATABASE, prepare_with=ENVIRONMENT):
        os.environ.update(ENVIRONMENT)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
        import django

        django.setup()
        generate_data(database=DATABASE, target_legs=arguments.legs)
        cookie = analyst_session_cookie()
        from django.db import connection

        connection.close()
        print(
            f"CSV exports read at {READ_BYTES_PER_SECOND // 1000} KB/s and"
            f" {CHART_REQUESTS} chart requests in flight; {arguments.callbacks} callbacks each"
        )
        worst = {
            key: measure(*LAYOUTS[key], cookie, arguments.callbacks)
            for key in arguments.layout or LAYOUTS
        }
    if worst.get(PRODUCTION, 0) >= CALLBACK_MAX_SECONDS:
        print(f"missed: the production layout answered a callback in {worst[PRODUCTION]:.2f} s")
        return 1
    print(f"target met: production callbacks answered in under {CALLBACK_MAX_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
