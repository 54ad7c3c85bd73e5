"""Signed Twilio status callbacks per second, against a bare Django application, and a burst.

In one run, in alternating rounds so that noise from other work on the machine falls on both
sides alike, wrk (benches/callback_bench.lua) posts at 32 connections:
- ours: gunicorn with our gunicorn.conf.py and `-w 2`, DEBUG off, PostgreSQL, signed status
  callbacks of realistic calls (each leg's full event sequence, some deliveries repeated as
  Twilio's retries do);
- bare Django: benches/bare_django.py (no middleware, one view that parses the POST and
  answers 204) under `gunicorn -w 2` sync workers, the framework's floor, sent the same bodies
  unsigned;
- one durable write: benches/durable_write_floor.py (bare Django whose view also inserts the
  body as one row, each request its own commit) served as ours is, with our gunicorn.conf.py,
  the same bodies unsigned: the floor of any server that stores a callback before answering.
Then the burst: 8,000 distinct signed callbacks for 1,000 calls (eight each: a caller's leg
and the agent's leg it rang, each initiated, ringing, in-progress, completed) sent at once
from 64 connections; how long until all are stored, and how many were answered with an error.

Prints every rate, the ratios, p99 latencies, errors and losses (distinct callbacks answered
whose CallEvent is not stored, by delivery digest), the CPU time a callback cost each server
and PostgreSQL (steadier than rates on a shared machine), and which targets are met; exits 1
when one is not.

    python benches/callback_bench.py [--duration 10] [--rounds 3] [--concurrency 32]

Needs wrk (apt-get install wrk) and PostgreSQL at BENCH_POSTGRES_URL; creates and drops its
own database, callback_bench.

Targets: ratio at least 0.33, callback p99 under 100 ms, nothing lost; the burst all stored
within 15 s with no error.
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches import bare_django, durable_write_floor
from benches.harness import (
    OURS_OPTIONS,
    REFERENCE_OPTIONS,
    ROOT,
    CpuMeter,
    bare_django_environment,
    database_url,
    fresh_database,
    gunicorn,
    served_environment,
    summarize_wrk_runs,
)
from calls.deliveries.calls import delivery_digest
from twilio_fakes.scenarios import CallPlan, agent_to_agent, agent_to_pstn, pstn_to_agents

DATABASE = "callback_bench"
ACCOUNT_SID = "AC" + "b0" * 16
AUTH_TOKEN = "callback-bench-auth-token"
DUPLICATE_SHARE = 0.05
CONNECTIONS = 32
WRK_THREADS = 2
OURS = "ours (signed callbacks)"
BARE = "bare Django (sync)"
FLOOR = "one durable write"
BURST_CALLS = 1000
BURST_CONNECTIONS = 64
BURST_DEADLINE = 15.0
# Live traffic, as Twilio sends it: calls of the last few hours (spread over CALLS_SPAN,
# ending an hour ago, so that no callback is dated in the future). A leg changed after its
# day settled (hours later) marks that day for the statistics' rollup, which live calls
# never do.
CALLS_SPAN = timedelta(hours=3)
CALLS_END_AGO = timedelta(hours=1)
# A family's status callbacks, about: for spacing the calls.
CALLBACKS_PER_CALL = 6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per side")
    parser.add_argument("--concurrency", type=int, default=CONNECTIONS)
    parser.add_argument(
        "--most", type=int, default=4000, help="callbacks per second ours could reach at most"
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("callback_bench: wrk is missing; install it with: apt-get install wrk")

    environment = served_environment(
        DATABASE,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WEBHOOK_BASE_URL="",
        TWILIO_VALIDATE_SIGNATURES="1",
    )
    work = Path(environment["STATIC_ROOT"])
    with (
        fresh_database(DATABASE, prepare_with=environment),
        gunicorn("voiceproject.wsgi", options=OURS_OPTIONS, environment=environment) as (
            base,
            ours_server,
        ),
        gunicorn(
            bare_django.APPLICATION,
            options=REFERENCE_OPTIONS,
            environment=bare_django_environment(environment),
            ready_path=bare_django.PATH,
        ) as (bare_base, bare_server),
        gunicorn(
            durable_write_floor.APPLICATION,
            options=OURS_OPTIONS,
            environment=durable_write_floor_environment(environment),
            ready_path=durable_write_floor.PATH,
        ) as (floor_base, floor_server),
    ):
        ours_url, bare_url = f"{base}/twilio/status/", bare_base + bare_django.PATH
        per_round = options.duration * options.most
        callbacks = signed_callbacks(ours_url, per_round * (options.rounds + 1))
        sides = {
            BARE: (bare_url, False, CpuMeter(bare_server.pid)),
            FLOOR: (
                floor_base + durable_write_floor.PATH,
                False,
                CpuMeter(floor_server.pid, database=DATABASE),
            ),
            OURS: (ours_url, True, CpuMeter(ours_server.pid, database=DATABASE)),
        }
        for url, signed, _ in sides.values():  # warm-up: connections, imports, caches
            run_wrk(url, callbacks[-per_round:], signed, 3, options.concurrency, work)
        answered: list[tuple[str, str]] = []
        results: dict[str, list[dict]] = {name: [] for name in sides}
        for round_number in range(options.rounds):
            part = callbacks[round_number * per_round : (round_number + 1) * per_round]
            for name, (url, signed, cpu) in sides.items():
                result = cpu.measure(
                    run_wrk, url, part, signed, options.duration, options.concurrency, work
                )
                results[name].append(result)
                if signed:
                    answered += answered_callbacks(
                        part, result["answered_by_thread"], options.concurrency
                    )
        sent_digests = {digest(body) for body, _ in answered}
        stored_digests = stored_delivery_digests()
        lost = len(sent_digests - stored_digests)
        for body, _ in answered:
            if digest(body) not in stored_digests:
                print(f"callback_bench: answered, not stored: {body}", file=sys.stderr)
        burst = burst_callbacks(ours_url)
        burst_stored_in, burst_phase = send_burst(ours_url, burst, already=stored_digests)
        burst_lost = len({digest(body) for body, _ in burst} - stored_delivery_digests())

    summaries = {name: summarize_wrk_runs(runs) for name, runs in results.items()}
    ours, bare, floor = summaries[OURS], summaries[BARE], summaries[FLOOR]
    print(
        f"callback_bench: {options.concurrency} connections, {options.rounds} rounds x "
        f"{options.duration} s per side, alternating; {os.cpu_count()} CPUs (shared); ours: "
        "gunicorn.conf.py -w 2; bare Django: gunicorn -w 2 sync; one durable write: "
        "gunicorn.conf.py -w 2; PostgreSQL"
    )
    print(
        f"{'':30} {'req/s':>8} {'each round':>20} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}"
        f" {'CPU µs/req: server':>19} {'PostgreSQL':>10}"
    )
    for name, summary in summaries.items():
        rounds = " ".join(f"{rate:.0f}" for rate in summary["rates"])
        print(
            f"{name:30} {summary['rate']:8.0f} {rounds:>20} {summary['p50_ms']:7.1f} "
            f"{summary['p99_ms']:7.1f} {summary['errors']:7d} {summary['server_cpu_us']:19.0f}"
            f" {summary['database_cpu_us']:10.0f}"
        )
    ratio = ours["rate"] / bare["rate"]
    print(
        f"ratio callbacks/bare Django: {ratio:.2f}; one durable write/bare Django: "
        f"{floor['rate'] / bare['rate']:.2f}; callbacks/one durable write: "
        f"{ours['rate'] / floor['rate']:.2f}"
    )
    print(f"loss: {lost} (distinct callbacks answered {len(sent_digests)}, not stored {lost})")
    print(
        f"burst: {len(burst)} distinct callbacks for {BURST_CALLS} calls from "
        f"{BURST_CONNECTIONS} connections at once: all stored in {burst_stored_in:.1f} s "
        f"({len(burst) / burst_stored_in:.0f}/s), p99 {burst_phase.percentile(99):.0f} ms, "
        f"errors {burst_phase.errors}, lost {burst_lost}"
    )
    targets = {
        "callbacks >= 0.33 x bare Django": ratio >= 0.33,
        "callback p99 < 100 ms": ours["p99_ms"] < 100,
        "nothing lost, no error": lost == 0 and ours["errors"] == 0,
        f"burst all stored within {BURST_DEADLINE:.0f} s, no error": (
            burst_stored_in <= BURST_DEADLINE and burst_phase.errors == 0 and burst_lost == 0
        ),
    }
    for target, met in targets.items():
        print(f"target {target}: {'met' if met else 'NOT met'}")
    sys.exit(0 if all(targets.values()) else 1)


def durable_write_floor_environment(environment: dict[str, str]) -> dict[str, str]:
    """The environment that serves benches/durable_write_floor.py on the benchmark's
    database, its table created."""
    with psycopg.connect(environment["DATABASE_URL"], autocommit=True) as database:
        database.execute(durable_write_floor.CREATE_TABLE)
    return {**environment, "DJANGO_SETTINGS_MODULE": "benches.durable_write_floor"}


def run_wrk(
    url: str,
    callbacks: list[tuple[str, str]],
    signed: bool,
    seconds: int,
    connections: int,
    work: Path,
) -> dict:
    """POST the callbacks in order (signed, or bare bodies) for `seconds`; wrk's figures."""
    lines = work / "callbacks.txt"
    lines.write_text(
        "".join(f"{signature if signed else ''}\t{body}\n" for body, signature in callbacks)
    )
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    command += ["-s", str(ROOT / "benches" / "callback_bench.lua"), url]
    environment = {
        **os.environ,
        "CALLBACK_BENCH_FILE": str(lines),
        "CALLBACK_BENCH_THREADS": str(WRK_THREADS),
    }
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, env=environment
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    # The references check no signature and keep no digest, so they may go round the list;
    # ours must not repeat itself.
    if signed and max(result["answered_by_thread"]) * WRK_THREADS > len(callbacks):
        raise SystemExit(f"callback_bench: wrk sent every callback ({result}); raise --most")
    return result


def answered_callbacks(
    callbacks: list[tuple[str, str]], answered_by_thread: list[int], connections: int
) -> list[tuple[str, str]]:
    """The callbacks wrk surely had answers for. Thread N sends lines N, N + threads, ... in
    order; wrk reports how many answers each thread had, not which: the last few it sent
    may still have been in flight when it stopped, so one per connection is left out. wrk
    also builds a first request it never sends (it checks the script with it): the first
    line of each thread is left out too."""
    in_flight = connections // WRK_THREADS
    return [
        callback
        for thread, answered in enumerate(answered_by_thread)
        for callback in callbacks[thread::WRK_THREADS][1 : max(1, answered - in_flight)]
    ]


def digest(body: str) -> str:
    """The delivery digest the server stores for this body."""
    return delivery_digest(dict(parse_qsl(body, keep_blank_values=True)))


def signed_callbacks(url: str, count: int) -> list[tuple[str, str]]:
    """Status callbacks of realistic calls, with a few repeated, signed for url, shuffled."""
    rng = random.Random(42)
    validator = RequestValidator(AUTH_TOKEN)
    started_at = datetime.now(UTC).replace(microsecond=0) - CALLS_END_AGO - CALLS_SPAN
    mean_gap = CALLS_SPAN.total_seconds() / (count / CALLBACKS_PER_CALL)
    callbacks = []
    while len(callbacks) < count * (1 - DUPLICATE_SHARE):
        started_at += timedelta(seconds=rng.uniform(0, 2 * mean_gap))
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


def burst_callbacks(url: str) -> list[tuple[str, str]]:
    """Eight status callbacks for each of BURST_CALLS answered calls, signed, shuffled."""
    rng = random.Random(8000)
    validator = RequestValidator(AUTH_TOKEN)
    # Calls of the last hour, as in a busy hour's live traffic.
    started_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    callbacks = []
    for number in range(BURST_CALLS):
        plan = CallPlan(
            account_sid=ACCOUNT_SID,
            application_sid="AP" + "d" * 32,
            started_at=started_at + timedelta(seconds=number),
        )
        deliveries = pstn_to_agents(
            plan, rng, caller="+12125550123", number="+14155550100", identities=["a", "b"]
        )
        callbacks += [d.parameters for d in deliveries if d.webhook == "status"]
    assert len(callbacks) == 8 * BURST_CALLS, len(callbacks)
    rng.shuffle(callbacks)
    return [
        (urlencode(parameters), validator.compute_signature(url, parameters))
        for parameters in callbacks
    ]


def send_burst(
    url: str, callbacks: list[tuple[str, str]], *, already: set[str]
) -> tuple[float, "Phase"]:
    """Send every callback at once from BURST_CONNECTIONS connections; return the seconds
    until all are stored (counted in the database), and the phase's answers."""
    phase = Phase()
    began = time.perf_counter()
    phase.add(url, callbacks, BURST_CONNECTIONS)
    while count_stored_events() - len(already) < len(callbacks):
        if time.perf_counter() - began > 10 * BURST_DEADLINE:
            break
        time.sleep(0.05)
    return time.perf_counter() - began, phase


class Phase:
    """Requests of one kind, sent in rounds: their count, time taken and latencies."""

    def __init__(self):
        self.latencies: list[float] = []
        self.elapsed = 0.0
        self.errors = 0
        self.round_rates: list[float] = []

    def add(self, url: str, requests: list[tuple[str, ...]], concurrency: int) -> None:
        latencies, elapsed, errors = asyncio.run(send_all(url, requests, concurrency))
        self.latencies += latencies
        self.elapsed += elapsed
        self.errors += errors
        self.round_rates.append(len(latencies) / elapsed)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, percent: int) -> float:
        """In milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, len(ordered) * percent // 100)] * 1000


async def send_all(url: str, requests: list[tuple[str, ...]], concurrency: int):
    """Send every request (body, signature, and optionally a path other than url's) over
    `concurrency` keep-alive connections; return latencies, time, errors (answers other than
    2xx, and connections lost).

    Plain HTTP/1.1 on asyncio streams with each request written out beforehand: an HTTP
    client library would take much of a core that the server shares.
    """
    address = urlsplit(url)
    prepared = iter(
        (
            f"POST {path[0] if path else address.path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        for body, signature, *path in requests
    )
    latencies, errors = [], 0

    async def connection():
        nonlocal errors
        reader = writer = None
        for request in prepared:
            began = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(address.hostname, address.port)
                writer.write(request)
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = re.search(r"content-length: *(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
                if not head.startswith("http/1.1 2"):
                    errors += 1
                if "connection: close" in head:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                reader = writer = None
            latencies.append(time.perf_counter() - began)
        if writer is not None:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began, errors


def count_stored_events() -> int:
    with psycopg.connect(database_url(DATABASE)) as connection:
        return connection.execute("SELECT count(*) FROM calls_callevent").fetchone()[0]


def stored_delivery_digests() -> set[str]:
    with psycopg.connect(database_url(DATABASE)) as connection:
        rows = connection.execute("SELECT delivery_digest FROM calls_callevent").fetchall()
    return {digest for (digest,) in rows}


if __name__ == "__main__":
    main()
