"""Benchmark one poll of the live board over the call log benchmark's million legs.

Reuses the PostgreSQL database `calllog_bench` (built by benches/calllog_bench.py's data
generator when missing), adds live families (ringing and talking, as a busy contact centre
has at once), and times `GET /api/calls/live/` in-process through the whole Django stack as
a supervisor: a full answer, and a poll that finds nothing new (304 to its ETag). Prints
p50/p95 and queries per poll; the live families are removed again at the end.

    python benches/live_board_bench.py [--families 60] [--requests 200]

Exits 1 when the p95 of a full answer exceeds 50 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Importing it sets DATABASE_URL and the other settings this benchmark shares with it.
from benches import calllog_bench

P95_TARGET_MS = 50
# The SIDs of the added legs: parents CAfeed…, children CAfeee…
LIVE_PREFIX = "CAfee"


def add_live_families(count: int) -> None:
    """Families not ended: a third ringing three agents, the rest with one agent talking."""
    from django.utils import timezone

    from agents.models import Agent
    from calls.models import Call

    agents = list(Agent.objects.order_by("id")[:20])
    now = timezone.now()
    for family in range(count):
        parent = Call.objects.create(
            sid=f"{LIVE_PREFIX}d{family:028x}",
            direction="inbound",
            from_number=f"+1415777{family:04d}",
            to_number="+14155550100",
            status="ringing",
            start_time=now,
        )
        talking = family % 3 != 0
        for position in range(3):
            agent = agents[(family + position) % len(agents)]
            Call.objects.create(
                sid=f"{LIVE_PREFIX}e{family:022x}{position:06x}",
                parent=parent,
                direction="outbound-dial",
                from_number=parent.from_number,
                to_number=agent.client_address,
                agent=agent,
                status="in-progress" if talking and position == 0 else "ringing",
                start_time=now,
            )


def remove_live_families() -> None:
    from calls.models import Call

    Call.objects.filter(sid__startswith=LIVE_PREFIX, parent__isnull=False).delete()
    Call.objects.filter(sid__startswith=LIVE_PREFIX).delete()


def timed(client, requests: int, **headers) -> tuple[list[float], int]:
    timings = []
    status = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/api/calls/live/", headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return timings, status


def report(name: str, timings: list[float]) -> float:
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    print(f"{name:<34} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    return p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=60, help="live families on the board")
    parser.add_argument("--requests", type=int, default=200, help="timed polls per case")
    arguments = parser.parse_args()

    calllog_bench.create_database()
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from calls.models import Call
    from tests.factories import UserFactory
    from voiceproject.roles import SUPERVISORS

    remove_live_families()
    if Call.objects.count() != calllog_bench.TARGET_LEGS:
        calllog_bench.generate_data()
    add_live_families(arguments.families)
    try:
        client = Client()
        client.force_login(UserFactory(username="bench_supervisor", groups=[SUPERVISORS]))
        first = client.get("/api/calls/live/")
        assert first.status_code == 200, first.status_code
        print(f"{len(first.json()['calls'])} live families, {len(first.json()['agents'])} agents")
        with CaptureQueriesContext(connection) as queries:
            client.get("/api/calls/live/")
        print(f"queries per poll: {len(queries)}")
        full, _ = timed(client, arguments.requests)
        unchanged, status = timed(client, arguments.requests, **{"If-None-Match": first["ETag"]})
        assert status == 304, status
        full_p95 = report("full answer (200)", full)
        report("nothing new (304 to the ETag)", unchanged)
    finally:
        remove_live_families()
    if full_p95 > P95_TARGET_MS:
        print(f"missed: p95 of a full answer over {P95_TARGET_MS} ms")
        return 1
    print("target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
