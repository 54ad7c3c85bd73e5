"""Conference callbacks beside call callbacks, and an agent's actions on a live call.

1. Callbacks. gunicorn as operators run it (gunicorn.conf.py, `-w 2`, PostgreSQL) takes, in
   alternating rounds from 32 connections, signed call status callbacks alone, and a mixed
   stream as a day with transfers sends it: the same kind of call callbacks with the
   conference callbacks of calls that met in a conference (joins, holds, transfers, leaves,
   ends; made by the fake's conferences, twilio_fakes.conferences), shuffled, a few
   repeated. Prints each stream's rate and the CPU time a callback cost the server and
   PostgreSQL, and the losses: distinct callbacks answered but not stored.
2. Actions. Calls are put in their conference through the server's own webhooks, Twilio
   played by the fake REST API on loopback in this process; for each, the agent holds,
   resumes and transfers the customer to a colleague over the API. Each action request is
   timed end to end (the server and the fake's answers to its REST requests, which count
   against us here), and its REST requests counted.

    python benches/conference_bench.py [--rounds 3] [--per-round 3000] [--actions 60]

Needs PostgreSQL at BENCH_POSTGRES_URL; creates and drops its own database,
conference_bench. Targets: the mixed stream costs no more CPU per callback than call
callbacks alone (within 10 %, the rounds' own spread), nothing lost; every action's p95
under 150 ms.
"""

import argparse
import os
import random
import statistics
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches import callback_bench
from benches.harness import (
    OURS_OPTIONS,
    CpuMeter,
    database_url,
    fresh_database,
    gunicorn,
    served_environment,
    session_cookie,
)
from calls.deliveries.calls import delivery_digest
from tests.conftest import (
    TEST_ACCOUNT_SID,
    TEST_API_KEY_SECRET,
    TEST_API_KEY_SID,
    TEST_AUTH_TOKEN,
)
from tests.hub_calls import SUPPORT_LINE, HubCall
from twilio_fakes.rest import FakeTwilio

DATABASE = "conference_bench"
CONNECTIONS = 32
CONFERENCE_EVENTS = "start end join leave mute hold modify"
HOLD_SHARE = 0.4
TRANSFER_SHARE = 0.25
DUPLICATE_SHARE = 0.05
CALLS_ALONE = "call callbacks alone"
MIXED = "calls and conferences"
ACTION_P95_MS = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=3000, help="callbacks per round")
    parser.add_argument("--actions", type=int, default=60, help="calls acted on")
    options = parser.parse_args()
    mixed_ok = measure_callbacks(options.rounds, options.per_round)
    actions_ok = measure_actions(options.actions)
    return 0 if mixed_ok and actions_ok else 1


# ----- 1. Callbacks -----


def measure_callbacks(rounds: int, per_round: int) -> bool:
    environment = served_environment(
        DATABASE,
        TWILIO_ACCOUNT_SID=callback_bench.ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=callback_bench.AUTH_TOKEN,
        TWILIO_WEBHOOK_BASE_URL="",
        TWILIO_VALIDATE_SIGNATURES="1",
    )
    with (
        fresh_database(DATABASE, prepare_with=environment),
        gunicorn("voiceproject.wsgi", options=OURS_OPTIONS, environment=environment) as (
            base,
            server,
        ),
    ):
        status_url = f"{base}/twilio/status/"
        calls = callback_bench.signed_callbacks(status_url, per_round * (rounds + 1))
        conferences = conference_callbacks(f"{base}/twilio/conference/", per_round * rounds // 2)
        mixed = calls[per_round:]
        mixed = mixed[: len(mixed) // 2] + conferences
        random.Random(5).shuffle(mixed)
        streams = {
            CALLS_ALONE: [calls[n * per_round : (n + 1) * per_round] for n in range(1, rounds + 1)],
            MIXED: [mixed[n * per_round : (n + 1) * per_round] for n in range(rounds)],
        }
        cpu = CpuMeter(server.pid, database=DATABASE)
        warm_up = callback_bench.Phase()
        warm_up.add(status_url, calls[: per_round // 4], CONNECTIONS)
        results: dict[str, list[dict]] = {name: [] for name in streams}
        phases = {name: callback_bench.Phase() for name in streams}
        for round_number in range(rounds):
            for name, parts in streams.items():
                part = parts[round_number]
                before = len(phases[name].latencies)
                result = cpu.measure(_send_round, phases[name], status_url, part)
                result["sent"] = len(phases[name].latencies) - before
                results[name].append(result)
        sent = {digest(body) for body, *_ in [*calls[per_round:], *conferences]}
        errors = sum(phase.errors for phase in phases.values())
        lost = len(sent - stored_digests())

    print(
        f"conference_bench, callbacks: {CONNECTIONS} connections, {rounds} rounds of "
        f"{per_round} per stream, alternating; gunicorn.conf.py -w 2; PostgreSQL; "
        f"{os.cpu_count()} CPUs (shared)"
    )
    print(f"{'':24} {'callbacks/s':>12} {'each round':>22} {'p99 ms':>7} {'CPU µs/callback':>16}")
    cost = {}
    for name, phase in phases.items():
        runs = results[name]
        seconds = sum(run["server_cpu_s"] + run["database_cpu_s"] for run in runs)
        cpu_us = seconds / sum(run["sent"] for run in runs) * 1e6
        cost[name] = cpu_us
        rounds_text = " ".join(f"{rate:.0f}" for rate in phase.round_rates)
        print(
            f"{name:24} {phase.rate:12.0f} {rounds_text:>22} {phase.percentile(99):7.1f}"
            f" {cpu_us:16.0f}"
        )
    ratio = cost[MIXED] / cost[CALLS_ALONE]
    print(
        f"CPU per callback, mixed / alone: {ratio:.2f}; distinct callbacks sent {len(sent)}, "
        f"not stored {lost}; errors {errors}"
    )
    met = ratio <= 1.10 and lost == 0 and errors == 0
    print(
        "target mixed no slower per callback (<= 1.10), nothing lost:",
        "met" if met else "NOT met",
    )
    return met


def _send_round(phase: callback_bench.Phase, url: str, part: list[tuple[str, ...]]) -> dict:
    phase.add(url, part, CONNECTIONS)
    return {}


def conference_callbacks(url: str, count: int) -> list[tuple[str, str, str]]:
    """About `count` signed conference callbacks of calls that met in a conference, as the
    fake's conferences send them for the hub's events; a few repeated."""
    fake = FakeTwilio(account_sid=callback_bench.ACCOUNT_SID, auth_token=callback_bench.AUTH_TOKEN)
    conferences = fake.conferences
    rng = random.Random(26)
    while len(conferences.callbacks) < count * (1 - DUPLICATE_SHARE):
        customer, agent = _sid(rng), _sid(rng)
        name = f"hub-{customer}"
        for leg, label in ((customer, "customer"), (agent, "agent:a")):
            conferences.join(
                leg,
                name,
                label=label,
                end_conference_on_exit=True,
                status_callback=url,
                status_callback_event=CONFERENCE_EVENTS,
            )
        sid = conferences.named(name)["sid"]
        if rng.random() < HOLD_SHARE:
            conferences.update_participant(url, sid, customer, {"Hold": "true"})
            conferences.update_participant(url, sid, customer, {"Hold": "false"})
        if rng.random() < TRANSFER_SHARE:
            created = conferences.create_participant(
                url,
                sid,
                [("From", "+12125550123"), ("To", "client:b"), ("Label", "agent:b")],
            )
            conferences.answer(created["call_sid"])
            conferences.update_participant(url, sid, agent, {"EndConferenceOnExit": "false"})
            conferences.delete_participant(url, sid, agent)
        conferences.hang_up(customer)
    callbacks = [
        (urlencode(callback.parameters), callback.signature, urlsplit(callback.url).path)
        for callback in conferences.callbacks
        if callback.url == url
    ]
    callbacks += rng.sample(callbacks, int(len(callbacks) * DUPLICATE_SHARE))
    return callbacks


def _sid(rng: random.Random) -> str:
    return f"CA{rng.getrandbits(128):032x}"


def digest(body: str) -> str:
    return delivery_digest(dict(parse_qsl(body, keep_blank_values=True)))


def stored_digests() -> set[str]:
    with psycopg.connect(database_url(DATABASE)) as connection:
        calls = connection.execute("SELECT delivery_digest FROM calls_callevent").fetchall()
        conferences = connection.execute(
            "SELECT delivery_digest FROM calls_conferenceevent"
        ).fetchall()
    return {digest for (digest,) in calls + conferences}


# ----- 2. Actions -----


def measure_actions(count: int) -> bool:
    fake = FakeTwilio(
        account_sid=TEST_ACCOUNT_SID,
        auth_token=TEST_AUTH_TOKEN,
        credentials={(TEST_API_KEY_SID, TEST_API_KEY_SECRET)},
    ).start()
    environment = served_environment(
        DATABASE,
        TWILIO_ACCOUNT_SID=TEST_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
        TWILIO_API_KEY_SID=TEST_API_KEY_SID,
        TWILIO_API_KEY_SECRET=TEST_API_KEY_SECRET,
        TWILIO_API_BASE_URL=fake.base_url,
        # Signed for, and the hub's URLs built on, the name the tests' driver uses.
        TWILIO_WEBHOOK_BASE_URL="http://testserver",
        TWILIO_VALIDATE_SIGNATURES="1",
    )
    timings: dict[str, list[float]] = {"hold": [], "resume": [], "transfer": []}
    rest_requests: dict[str, list[int]] = {name: [] for name in timings}
    try:
        with (
            fresh_database(DATABASE, prepare_with=environment),
            gunicorn("voiceproject.wsgi", options=OURS_OPTIONS, environment=environment) as (
                base,
                _,
            ),
        ):
            agent = _agents_and_session(environment)
            client = OverHttp(base, agent)
            for _ in range(count):
                call = HubCall(client, fake, number=SUPPORT_LINE)
                call.answered_by("alice")
                for action, data in (("hold", {}), ("resume", {}), ("transfer", {"to": "bob"})):
                    asked = len(fake.requests)
                    response = client.session.post(
                        f"{base}/api/hub/{call.name}/{action}/", json=data, timeout=10
                    )
                    if response.status_code != 200:
                        raise SystemExit(f"{action}: {response.status_code} {response.text}")
                    timings[action].append(response.elapsed.total_seconds() * 1000)
                    rest_requests[action].append(len(fake.requests) - asked)
                    call.deliver()
                # bob lets the transfer ring out: he is free for the next call's.
                (bob,) = [p for p in response.json()["parties"] if p["label"] == "agent:bob"]
                fake.conferences.not_answer(bob["call_sid"])
                call.deliver()
    finally:
        fake.stop()
    print(f"conference_bench, actions: {count} calls in their conference; gunicorn -w 2")
    print(f"{'':10} {'p50 ms':>8} {'p95 ms':>8} {'REST requests':>14}")
    met = True
    for action, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[18]
        met = met and p95 < ACTION_P95_MS
        print(
            f"{action:10} {statistics.median(values):8.1f} {p95:8.1f}"
            f" {statistics.mean(rest_requests[action]):14.1f}"
        )
    print(f"target every action's p95 under {ACTION_P95_MS} ms: {'met' if met else 'NOT met'}")
    return met


class OverHttp:
    """What tests.hub_calls posts with (Django's test client) over real HTTP instead."""

    def __init__(self, base: str, cookie: str):
        self.base = base
        self.session = requests.Session()
        name, value = cookie.split("=", 1)
        self.session.cookies.set(name, value)
        csrf = "b" * 32
        self.session.cookies.set("csrftoken", csrf)
        self.session.headers["X-CSRFToken"] = csrf

    def post(self, path: str, data: str, content_type: str, headers: dict[str, str]):
        return self.session.post(
            self.base + path,
            data=data,
            headers={"Content-Type": content_type, **headers},
            timeout=10,
        )


def _agents_and_session(environment: dict[str, str]) -> str:
    """alice and bob, available on the support line; a session cookie logging alice in."""
    os.environ["DATABASE_URL"] = environment["DATABASE_URL"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
    import django

    django.setup()
    from tests.factories import AgentFactory, PhoneNumberFactory

    line = PhoneNumberFactory(number=SUPPORT_LINE)
    alice = AgentFactory(identity="alice", availability="available")
    line.agents.add(alice, AgentFactory(identity="bob", availability="available"))
    return session_cookie(alice.user)


if __name__ == "__main__":
    sys.exit(main())
