"""Signed Twilio status callbacks per second, against a bare Django view as the floor.

Sets itself up: creates the PostgreSQL database `callback_bench`, migrates it, starts
gunicorn (DEBUG off) on an ephemeral loopback port, then at 32 concurrent connections sends
the same number of requests, alternating in rounds, to a view that only answers 204 (the
framework floor) and as signed status callbacks of realistic calls (each leg's full event
sequence, some deliveries repeated as Twilio's retries do). Prints both rates, their ratio,
p99 latencies and the loss count: distinct callbacks sent minus CallEvents stored.

    python benches/callback_bench.py [--requests 6000] [--rounds 6] [--concurrency 32]

Targets: ratio at least 0.33, callback p99 under 100 ms, nothing lost.
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import psycopg
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.harness import database_url, fresh_database, gunicorn  # noqa: E402
from demo.scenarios import CallPlan, agent_to_agent, agent_to_pstn, pstn_to_agents  # noqa: E402

DATABASE = "callback_bench"
ACCOUNT_SID = "AC" + "b0" * 16
AUTH_TOKEN = "callback-bench-auth-token"
DUPLICATE_SHARE = 0.05
# A few seconds to a minute and a half apart, the calls of a phase of 6,000 callbacks span
# half a day; a day per 12,000 callbacks.
CALLS_START_DAYS_AGO = 25


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--rounds", type=int, default=6, help="alternations of the two phases")
    options = parser.parse_args()

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benches.callback_bench_settings",
        "DATABASE_URL": database_url(DATABASE),
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
        "SECRET_KEY": "callback-bench-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WEBHOOK_BASE_URL": "",
        # The longest window allowed: the calls sent start CALLS_START_DAYS_AGO.
        "WEBHOOK_TIMESTAMP_MAX_AGE": str(30 * 24 * 60 * 60),
        "TWILIO_VALIDATE_SIGNATURES": "1",
        "LOG_LEVEL": "WARNING",
        # With DEBUG off the server starts only with collected static files.
        "STATIC_ROOT": tempfile.mkdtemp(prefix="callback-bench-static-"),
    }
    with (
        fresh_database(DATABASE, prepare_with=environment),
        gunicorn(
            "voiceproject.wsgi",
            # As the recorded figures were measured (gunicorn.conf.py would make it gthread).
            options=[f"--workers={options.workers}", "--worker-class=sync", "--log-level=warning"],
            environment=environment,
        ) as (base, _),
    ):
        callbacks = signed_callbacks(f"{base}/twilio/status/", options.requests)
        distinct = len({body for body, _ in callbacks})
        floor_requests = [(body, "") for body, _ in callbacks]
        asyncio.run(send_all(f"{base}/bench/bare/", floor_requests[:300], options.concurrency))
        # Alternate the two in rounds, so that load from elsewhere on the machine weighs on
        # both alike.
        floor, webhook = Phase(), Phase()
        for round_number in range(options.rounds):
            part = slice(
                round_number * len(callbacks) // options.rounds,
                (round_number + 1) * len(callbacks) // options.rounds,
            )
            floor.add(f"{base}/bench/bare/", floor_requests[part], options.concurrency)
            webhook.add(f"{base}/twilio/status/", callbacks[part], options.concurrency)
        stored = count_stored_events()

    print(f"machine: {os.cpu_count()} CPUs (shared), gunicorn sync workers: {options.workers}")
    print(f"requests per phase: {options.requests}, concurrency: {options.concurrency}")
    for name, phase in [("bare Django 204 view", floor), ("signed status callbacks", webhook)]:
        print(
            f"{name:<26} {phase.rate:8.0f} req/s   p50 {phase.percentile(50):6.1f} ms   "
            f"p99 {phase.percentile(99):6.1f} ms   errors {phase.errors}"
        )
    ratio = webhook.rate / floor.rate
    lost = distinct - stored
    print(f"ratio callbacks/floor: {ratio:.2f} (target >= 0.33)")
    print(f"callback p99: {webhook.percentile(99):.1f} ms (target < 100 ms)")
    print(f"loss: {lost} (distinct callbacks sent {distinct}, CallEvents stored {stored})")
    ok = ratio >= 0.33 and webhook.percentile(99) < 100 and lost == 0 and webhook.errors == 0
    sys.exit(0 if ok else 1)


def signed_callbacks(url: str, count: int) -> list[tuple[str, str]]:
    """Status callbacks of realistic calls, with a few repeated, signed for url, shuffled."""
    rng = random.Random(42)
    validator = RequestValidator(AUTH_TOKEN)
    # Dated recently, as Twilio's callbacks are: older ones are refused.
    started_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=CALLS_START_DAYS_AGO)
    callbacks = []
    while len(callbacks) < count * (1 - DUPLICATE_SHARE):
        started_at += timedelta(seconds=rng.randint(1, 90))
        plan = CallPlan(
            account_sid=ACCOUNT_SID,
            application_sid="AP" + "d" * 32,
            started_at=started_at,
            outcome=rng.choice(["completed"] * 7 + ["busy", "no-answer", "failed", "canceled"]),
            ring_seconds=rng.randint(2, 20),
            talk_seconds=rng.randint(5, 900),
        )
        kind = rng.randrange(3)
        if kind == 0:
            deliveries = pstn_to_agents(
                plan, rng, caller="+12125550123", number="+14155550100", identities=["a", "b"]
            )
        elif kind == 1:
            deliveries = agent_to_pstn(
                plan, rng, identity="a", caller_id="+14155550100", destination="+12125550199"
            )
        else:
            deliveries = agent_to_agent(plan, rng, identity="a", callee_identity="b")
        callbacks += [d.parameters for d in deliveries if d.webhook == "status"]
    callbacks += rng.sample(callbacks, count - len(callbacks))
    rng.shuffle(callbacks)
    return [
        (urlencode(parameters), validator.compute_signature(url, parameters))
        for parameters in callbacks
    ]


class Phase:
    """Requests of one kind, sent in rounds: their count, time taken and latencies."""

    def __init__(self):
        self.latencies: list[float] = []
        self.elapsed = 0.0
        self.errors = 0

    def add(self, url: str, requests: list[tuple[str, str]], concurrency: int) -> None:
        latencies, elapsed, errors = asyncio.run(send_all(url, requests, concurrency))
        self.latencies += latencies
        self.elapsed += elapsed
        self.errors += errors

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, percent: int) -> float:
        """In milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, len(ordered) * percent // 100)] * 1000


async def send_all(url: str, requests: list[tuple[str, str]], concurrency: int):
    """Send every request over `concurrency` connections; return latencies, time, errors."""
    queue = iter(requests)
    latencies, errors = [], 0

    async def connection(session):
        nonlocal errors
        for body, signature in queue:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if signature:
                headers["X-Twilio-Signature"] = signature
            began = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status >= 300:
                    errors += 1
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(connection(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, elapsed, errors


def count_stored_events() -> int:
    with psycopg.connect(database_url(DATABASE)) as connection:
        return connection.execute("SELECT count(*) FROM calls_callevent").fetchone()[0]


if __name__ == "__main__":
    main()
