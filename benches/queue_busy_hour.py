"""A simulated busy hour in two queues: 600 callers, 10 agents, Twilio's side played on a
schedule against gunicorn and PostgreSQL.

Time runs about fifteen times faster than an hour: the callers arrive over four minutes
(`--spread`). Each one calls a queue's number and follows the TwiML our server answers,
signing every request as Twilio does: the Voice URL, the wait loop after each turn of hold
music (`--hold` seconds), the agent's leg (ringing, answered, completed) and the <Dial>
action. An agent offered a call answers after a moment, or (one time in ten) lets it ring
out; she talks for 2 to 6 seconds. A caller hangs up once her patience (5 to 60 s) runs out
while on hold; the queue's maximum wait (45 s) sends the others to voicemail. Two queues of
six agents share two of them; wrap-up lasts one second.

Checks, from the simulation's own log and the database:
- every caller served in arrival order (each queue's callers are first offered an agent in
  the order they arrived), abandoned or timed out;
- no agent double-booked: never offered a call while ringing or talking in the simulation,
  and no two of her offers open at once in the database;
- the routing decision (a request to the wait loop) p95 under 50 ms;
- each queue's statistics (inbound.queue_stats, what /calls/stats/ shows) equal to a hand
  count of the log: offered, answered, abandoned and timed out exactly; median and p90
  wait within a second (Twilio's Timestamp, which times the answer, has whole seconds).

    python benches/queue_busy_hour.py [--callers 600] [--spread 240] [--seed 1]

Needs PostgreSQL at BENCH_POSTGRES_URL; creates and drops its own database, queue_bench.
Exits 1 when a check fails.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.harness import (
    OURS_OPTIONS,
    CpuMeter,
    fresh_database,
    gunicorn,
    served_environment,
)
from twilio_fakes.signing import twilio_signature

DATABASE = "queue_bench"
ACCOUNT_SID = "AC" + "c0" * 16
AUTH_TOKEN = "queue-bench-auth-token"
NUMBERS = {"Sales": "+14155550100", "Support": "+14155550101"}
# Agents 0-5 take Sales, 4-9 Support: agents 4 and 5 are members of both.
MEMBERS = {"Sales": range(0, 6), "Support": range(4, 10)}
AGENTS = 10
WRAP_UP_SECONDS = 1
MAXIMUM_WAIT = 45
PATIENCE = (5.0, 60.0)
TALK = (2.0, 6.0)
ANSWER_AFTER = 0.3
RING_OUT_AFTER = 1.0
RING_OUT_SHARE = 0.1
ROUTING_P95_TARGET_MS = 50
WAIT_TOLERANCE_SECONDS = 1.0
SERVICE_LEVEL_SECONDS = 20


@dataclass
class Caller:
    """One caller of the simulation and what happened to her, by the simulation's clock."""

    number: int
    queue: str
    arrives_after: float
    patience: float
    sid: str
    outcome: str = ""
    agent: str = ""
    arrived_at: float = 0.0
    answered_at: datetime | None = None
    first_wait_request_at: datetime | None = None
    ended_at: float = 0.0


@dataclass
class Simulation:
    """Twilio's side: the callers, the agents' devices and everything they were asked."""

    base: str
    rng: random.Random
    session: aiohttp.ClientSession
    agent_state: dict[str, str] = field(default_factory=dict)
    double_booked: list[str] = field(default_factory=list)
    # Milliseconds each request to the wait loop took, by what it answered: ring, wait, leave.
    routing_ms: dict[str, list[float]] = field(
        default_factory=lambda: {"ring": [], "wait": [], "leave": []}
    )
    errors: list[str] = field(default_factory=list)
    callers: list[Caller] = field(default_factory=list)
    hold: float = 1.0  # seconds of hold music a turn of the wait loop plays
    requests: int = 0

    async def post(self, url: str, form: dict[str, str]) -> tuple[int, bytes, float]:
        signature = twilio_signature(url, form, AUTH_TOKEN)
        self.requests += 1
        started = time.perf_counter()
        async with self.session.post(
            url, data=form, headers={"X-Twilio-Signature": signature}
        ) as response:
            body = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 400:
            self.errors.append(f"{response.status} {url}: {body[:200]!r}")
        return response.status, body, elapsed

    def leg(self, caller: Caller, status: str) -> dict[str, str]:
        number = NUMBERS[caller.queue]
        phone = f"+1212555{caller.number:04d}"
        return {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": caller.sid,
            "CallStatus": status,
            "Direction": "inbound",
            "From": phone,
            "To": number,
            "Caller": phone,
            "Called": number,
        }

    async def status_callback(self, form: dict[str, str], status: str, sequence: int) -> None:
        callback = {
            **form,
            "CallStatus": status,
            "Timestamp": format_datetime(datetime.now(UTC)),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
        }
        await self.post(f"{self.base}/twilio/status/", callback)

    async def call(self, caller: Caller) -> None:
        await asyncio.sleep(caller.arrives_after)
        caller.arrived_at = time.monotonic()
        _, body, _ = await self.post(f"{self.base}/twilio/voice/", self.leg(caller, "ringing"))
        url = ET.fromstring(body).find("Redirect").text
        while not caller.outcome:
            url = await self.turn(caller, url)

    async def turn(self, caller: Caller, url: str) -> str:
        """One request to the wait loop and what follows it; the next URL to request."""
        if caller.first_wait_request_at is None:
            caller.first_wait_request_at = datetime.now(UTC)
        _, body, elapsed = await self.post(url, self.leg(caller, "in-progress"))
        document = ET.fromstring(body)
        dial = document.find("Dial")
        if dial is not None:
            self.routing_ms["ring"].append(elapsed)
            return await self.ring(caller, dial)
        redirect = document.find("Redirect")
        if redirect is not None and "/twilio/dial/" in redirect.text:
            self.routing_ms["leave"].append(elapsed)
            return await self.timed_out(caller, redirect.text)
        self.routing_ms["wait"].append(elapsed)
        await asyncio.sleep(self.hold)
        if time.monotonic() - caller.arrived_at >= caller.patience:
            caller.outcome, caller.ended_at = "abandoned", time.monotonic()
            await self.status_callback(self.leg(caller, "completed"), "completed", 0)
        return url

    async def ring(self, caller: Caller, dial: ET.Element) -> str:
        (identity,) = [client.find("Identity").text for client in dial.findall("Client")]
        if self.agent_state.get(identity, "free") != "free":
            self.double_booked.append(identity)
        self.agent_state[identity] = "ringing"
        child = {
            **self.leg(caller, "ringing"),
            "CallSid": "CA" + self.rng.getrandbits(128).to_bytes(16).hex(),
            "ParentCallSid": caller.sid,
            "Direction": "outbound-dial",
            "To": f"client:{identity}",
            "Called": f"client:{identity}",
        }
        action = {**self.leg(caller, "in-progress"), "DialCallSid": child["CallSid"]}
        await self.status_callback(child, "ringing", 1)
        if self.rng.random() < RING_OUT_SHARE:
            await asyncio.sleep(RING_OUT_AFTER)
            await self.status_callback(child, "no-answer", 2)
            self.agent_state[identity] = "free"
            _, body, _ = await self.post(
                dial.attrib["action"], {**action, "DialCallStatus": "no-answer"}
            )
            return ET.fromstring(body).find("Redirect").text
        await asyncio.sleep(ANSWER_AFTER)
        self.agent_state[identity] = "talking"
        caller.answered_at = datetime.now(UTC).replace(microsecond=0)
        caller.outcome, caller.agent = "answered", identity
        await self.status_callback(child, "in-progress", 2)
        talk = self.rng.uniform(*TALK)
        await asyncio.sleep(talk)
        await self.status_callback({**child, "CallDuration": str(round(talk))}, "completed", 3)
        self.agent_state[identity] = "free"
        await self.post(
            dial.attrib["action"],
            {**action, "DialCallStatus": "completed", "DialCallDuration": str(round(talk))},
        )
        await self.status_callback(self.leg(caller, "completed"), "completed", 0)
        caller.ended_at = time.monotonic()
        return ""

    async def timed_out(self, caller: Caller, action_url: str) -> str:
        caller.outcome, caller.ended_at = "timed-out", time.monotonic()
        _, body, _ = await self.post(action_url, self.leg(caller, "in-progress"))
        if ET.fromstring(body).find("Record") is None:
            self.errors.append(f"{caller.sid}: no voicemail after the maximum wait")
        await self.status_callback(self.leg(caller, "completed"), "completed", 0)
        return ""


def set_up_queues() -> None:
    """Ten available agents, two queues and their numbers (Django set up)."""
    from agents.constants import Availability
    from agents.models import Agent
    from inbound.models import Queue, QueueMember, QueueNumber
    from tests.factories import AgentFactory, PhoneNumberFactory

    agents = [
        AgentFactory(identity=f"agent_{n}", availability=Availability.AVAILABLE)
        for n in range(AGENTS)
    ]
    Agent.objects.update(availability_since=datetime.now(UTC) - timedelta(hours=1))
    for name, number in NUMBERS.items():
        queue = Queue.objects.create(
            name=name,
            wrap_up_seconds=WRAP_UP_SECONDS,
            maximum_wait=MAXIMUM_WAIT,
            ring_timeout=5,
            announce_every=30,
        )
        QueueNumber.objects.create(queue=queue, number=PhoneNumberFactory(number=number))
        for order, n in enumerate(MEMBERS[name]):
            QueueMember.objects.create(queue=queue, agent=agents[n], order=order)


def hand_count(callers: list[Caller], queue: str) -> dict[str, object]:
    """A queue's figures counted from the simulation's log."""
    mine = [caller for caller in callers if caller.queue == queue]
    waits = sorted(
        (caller.answered_at - caller.first_wait_request_at).total_seconds()
        for caller in mine
        if caller.outcome == "answered"
    )
    return {
        "offered": len(mine),
        "answered": sum(caller.outcome == "answered" for caller in mine),
        "abandoned": sum(caller.outcome == "abandoned" for caller in mine),
        "timed_out": sum(caller.outcome == "timed-out" for caller in mine),
        "median_wait_seconds": statistics.median(waits) if waits else None,
        "p90_wait_seconds": nearest_rank_of(waits),
    }


def nearest_rank_of(in_order: list[float]) -> float | None:
    from inbound.queue_stats import nearest_rank

    return nearest_rank(in_order, 0.9)


def server_figures(start: datetime, end: datetime) -> dict[str, dict[str, object]]:
    from inbound.queue_stats import queue_stats

    return {
        stats.name: {
            "offered": stats.offered,
            "answered": stats.answered,
            "abandoned": stats.abandoned,
            "timed_out": stats.timed_out,
            "median_wait_seconds": stats.median_wait_seconds,
            "p90_wait_seconds": stats.p90_wait_seconds,
            "waiting": stats.waiting,
        }
        for stats in queue_stats(start=start, end=end)
    }


def served_out_of_order() -> list[str]:
    """Callers first offered an agent before someone who arrived earlier in their queue."""
    from django.db.models import Min

    from inbound.models import QueueCaller

    late = []
    for queue_id in QueueCaller.objects.values_list("queue_id", flat=True).distinct():
        first_offers = (
            QueueCaller.objects.filter(queue_id=queue_id)
            .annotate(first_offer=Min("offers__offered_at"))
            .filter(first_offer__isnull=False)
            .order_by("arrived_at", "id")
            .values_list("call_sid", "first_offer")
        )
        latest = None
        for sid, offered_at in first_offers:
            if latest is not None and offered_at < latest:
                late.append(sid)
            latest = max(latest or offered_at, offered_at)
    return late


def overlapping_offers() -> list[str]:
    """Agents with an offer made while another of theirs was still open."""
    from inbound.models import QueueOffer

    overlapping = []
    last_closed: dict[int, datetime] = {}
    for agent_id, identity, offered_at, closed_at in QueueOffer.objects.order_by(
        "agent_id", "offered_at"
    ).values_list("agent_id", "agent__identity", "offered_at", "closed_at"):
        if agent_id in last_closed and offered_at < last_closed[agent_id]:
            overlapping.append(identity)
        last_closed[agent_id] = closed_at or datetime.max.replace(tzinfo=UTC)
    return overlapping


async def simulate(base: str, options: argparse.Namespace) -> Simulation:
    rng = random.Random(options.seed)
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        simulation = Simulation(base=base, rng=rng, session=session, hold=options.hold)
        for number in range(options.callers):
            simulation.callers.append(
                Caller(
                    number=number,
                    queue=rng.choice(list(NUMBERS)),
                    arrives_after=rng.uniform(0, options.spread),
                    patience=rng.uniform(*PATIENCE),
                    sid="CA" + rng.getrandbits(128).to_bytes(16).hex(),
                )
            )
        await asyncio.gather(*(simulation.call(caller) for caller in simulation.callers))
    return simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=600)
    parser.add_argument("--spread", type=float, default=240, help="seconds callers arrive over")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds of hold music a turn")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    environment = served_environment(
        DATABASE,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WEBHOOK_BASE_URL="",
        TWILIO_VALIDATE_SIGNATURES="1",
        SERVICE_LEVEL_SECONDS=str(SERVICE_LEVEL_SECONDS),
        QUEUE_HOLD_MUSIC_URL="https://example.com/hold.mp3",
        # Answered calls stay bridged by their <Dial>, as the simulation plays them: moving
        # them into conferences would need Twilio's REST API.
        CONFERENCE_HUB="0",
    )
    with fresh_database(DATABASE, prepare_with=environment):
        # This process reads and writes the same database with the server's settings.
        os.environ.clear()
        os.environ.update(environment)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
        import django

        django.setup()
        from django.db import connection

        set_up_queues()
        connection.close()
        with gunicorn("voiceproject.wsgi", options=OURS_OPTIONS, environment=environment) as (
            base,
            server,
        ):
            started_at = datetime.now(UTC) - timedelta(minutes=1)
            began = time.monotonic()
            measured = CpuMeter(server.pid, database=DATABASE).measure(
                lambda: {"simulation": asyncio.run(simulate(base, options))}
            )
            took = time.monotonic() - began
        report(measured, options, started_at=started_at, took=took)


def report(
    measured: dict, options: argparse.Namespace, *, started_at: datetime, took: float
) -> None:
    simulation: Simulation = measured["simulation"]
    callers = simulation.callers
    ended_at = datetime.now(UTC) + timedelta(minutes=1)
    server = server_figures(started_at, ended_at)
    routing = sorted(ms for timings in simulation.routing_ms.values() for ms in timings)
    p95 = percentile(routing, 0.95)
    late, overlapping = served_out_of_order(), overlapping_offers()
    print(
        f"queue_busy_hour: {len(callers)} callers over {options.spread:.0f} s into 2 queues, "
        f"{AGENTS} agents, gunicorn.conf.py -w 2, PostgreSQL; {os.cpu_count()} CPUs (shared); "
        f"took {took:.0f} s"
    )
    print(
        f"routing decisions (wait loop requests): {len(routing)}, p50 "
        f"{percentile(routing, 0.5):.1f} ms, p95 {p95:.1f} ms, max {routing[-1]:.1f} ms; "
        + "; ".join(
            f"{kind} {len(timings)}, p95 {percentile(sorted(timings), 0.95):.1f} ms"
            for kind, timings in simulation.routing_ms.items()
            if timings
        )
        + f"; errors {len(simulation.errors)}"
    )
    print(
        f"CPU a request ({simulation.requests} requests from Twilio's side): server "
        f"{measured['server_cpu_s'] / simulation.requests * 1e6:.0f} µs, PostgreSQL "
        f"{measured['database_cpu_s'] / simulation.requests * 1e6:.0f} µs"
    )
    figures_match = True
    names = ["offered", "answered", "abandoned", "timed_out"]
    for queue in NUMBERS:
        counted, stored = hand_count(callers, queue), server[queue]
        exact = all(counted[name] == stored[name] for name in names) and stored["waiting"] == 0
        close = all(
            _within_a_second(counted[name], stored[name])
            for name in ("median_wait_seconds", "p90_wait_seconds")
        )
        figures_match = figures_match and exact and close
        print(
            f"{queue:8} log:   "
            + ", ".join(f"{name} {_shown(counted[name])}" for name in counted)
            + f"\n{'':8} stats: "
            + ", ".join(f"{name} {_shown(stored[name])}" for name in counted)
            + f", still waiting {stored['waiting']}"
        )
    print(
        f"double-booked: {len(simulation.double_booked)} in the simulation, "
        f"{len(overlapping)} overlapping offers stored; first offered out of arrival order: "
        f"{len(late)}"
    )
    for error in simulation.errors[:10]:
        print(f"queue_busy_hour: {error}", file=sys.stderr)
    targets = {
        "every caller answered, abandoned or timed out": all(c.outcome for c in callers),
        "served in arrival order": not late,
        "no agent double-booked": not simulation.double_booked and not overlapping,
        f"routing p95 < {ROUTING_P95_TARGET_MS} ms": p95 < ROUTING_P95_TARGET_MS,
        "statistics equal the hand count": figures_match,
        "no error": not simulation.errors,
    }
    for name, met in targets.items():
        print(f"{'met' if met else 'MISSED'}: {name}")
    if not all(targets.values()):
        raise SystemExit(1)


def percentile(in_order: list[float], share: float) -> float:
    return in_order[min(len(in_order) - 1, int(len(in_order) * share))]


def _within_a_second(counted: object, stored: object) -> bool:
    if counted is None or stored is None:
        return counted is None and stored is None
    return abs(float(counted) - float(stored)) <= WAIT_TOLERANCE_SECONDS


def _shown(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
