"""Benchmark the call log on one million call legs in PostgreSQL.

Builds the database `calllog_bench` (kept between runs; `--regenerate` builds it again) and
rolls up its settled days as beat keeps them, starts gunicorn with DEBUG=0 on an ephemeral
loopback port, and times, as an analyst: the list page (first page, deep pages, each filter,
each sort), the JSON API, the family page, the statistics over 90 days (and, for comparison,
with nothing rolled up), and the CSV export of every leg (rows per second, growth of the
worker's peak memory).
Times are measured at the client over loopback, so they are an upper bound of server time.
Queries per request are counted in-process through the same Django stack.

    python benches/calllog_bench.py [--regenerate] [--requests 40] [--only stats]

`--only` times one part alone: `list`, `family`, `stats` or `csv`.

Exits 1 when a figure misses its target.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.harness import (  # noqa: E402
    analyst_session_cookie,
    create_database_if_missing,
    database_url,
    gunicorn,
    memory_kb,
    reset_peak_memory,
    worker_pid,
)

DATABASE = "calllog_bench"
TARGET_LEGS = 1_000_000
DAYS = 90
AGENTS = 20
ACCOUNT_SID = "AC" + "be" * 16
LIST_P95_MS = 100
STATS_P95_MS = 300
DETAIL_P95_MS = 50
CSV_MIN_ROWS_PER_SECOND = 50_000
CSV_MAX_MEMORY_GROWTH_MB = 100

os.environ.update(
    DATABASE_URL=database_url(DATABASE),
    DEBUG="0",
    HTTPS_ONLY="0",
    SECRET_KEY="calllog-bench-secret-key-not-for-production-use-at-all",
    # A benchmark needs no beat: production refuses to run without Redis otherwise.
    ALLOW_UNSAFE="no-redis",
    ALLOWED_HOSTS="127.0.0.1,testserver",
    LOG_LEVEL="WARNING",
)


def create_database() -> None:
    create_database_if_missing(DATABASE)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, check=True
    )
    # DEBUG off serves hashed static files from STATIC_ROOT, as in production.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, check=True
    )


def parent_counts(target_legs: int) -> tuple[int, int]:
    """Parents with their usual children, and childless parents that top up to exactly
    `target_legs`.

    Mirrors the leg counts of calllog_data.sql (see its comment).
    """
    parents = legs = 0
    while True:
        i = parents + 1
        family_legs = 1 if i % 10 == 0 else 2 if i % 10 <= 3 else 2 + (i // 10) % 3
        if legs + family_legs > target_legs:
            return parents, target_legs - legs
        parents, legs = i, legs + family_legs


def generate_data(*, database: str = DATABASE, target_legs: int = TARGET_LEGS) -> None:
    """Write `target_legs` legs over the last DAYS days into `database` (Django's own)."""
    from agents.models import Agent, TwimlApp
    from tests.factories import UserFactory

    app, _ = TwimlApp.objects.get_or_create(
        sid="AP" + "be" * 16, defaults={"friendly_name": "Bench softphone"}
    )
    agent_ids = [
        Agent.objects.get_or_create(
            identity=f"agent_{n:02d}",
            defaults={"user": UserFactory(username=f"agent_{n:02d}"), "twiml_app": app},
        )[0].id
        for n in range(AGENTS)
    ]
    parents, extra_parents = parent_counts(target_legs)
    parameters = {
        "parents": parents,
        "extra_parents": extra_parents,
        "agent_ids": agent_ids,
        "account_sid": ACCOUNT_SID,
        "days": DAYS,
    }
    script = (Path(__file__).parent / "calllog_data.sql").read_text()
    script = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    statements = [statement for statement in script.split(";\n") if statement.strip()]
    started = time.perf_counter()
    with psycopg.connect(database_url(database)) as connection:
        # CASCADE: every table that points at calls (events, recordings, stale leg checks).
        connection.execute(
            "TRUNCATE calls_callevent, calls_call, calls_statsday, calls_statsdirtyday CASCADE"
        )
        for statement in statements:
            connection.execute(statement, parameters)
    with psycopg.connect(database_url(database), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE calls_call")
        connection.execute("VACUUM ANALYZE calls_callevent")
    print(f"generated {target_legs:,} legs in {time.perf_counter() - started:.1f} s")


def roll_up(*, rebuild: bool = False) -> None:
    """Roll up the settled days without a rollup (all of them with `rebuild`), as beat does."""
    from calls.log.rollup import call_stats_rollup

    started = time.perf_counter()
    outcome = call_stats_rollup(rebuild=rebuild)
    print(f"rolled up {outcome.days_rolled_up} days in {time.perf_counter() - started:.1f} s")


@contextmanager
def rollup_emptied() -> Iterator[None]:
    """Every day counted live within this block; rolled up again after it."""
    from calls.models import StatsDay

    StatsDay.objects.all().delete()
    try:
        yield
    finally:
        roll_up()


class Bench:
    def __init__(self, base_url: str, cookie: str, requests: int):
        self.base_url = base_url
        self.cookie = cookie
        self.requests = requests
        self.misses = []

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(self.base_url + path, headers={"Cookie": self.cookie})
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()

    def time_page(self, name: str, path: str, target_ms: float | None) -> None:
        """Time this page; a miss of its target fails the run (no target: for comparison)."""
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client()
        client.cookies.load(self.cookie)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path).status_code
        assert status == 200, f"{path} answered {status}"

        for _ in range(2):
            self.get(path)
        timings = []
        for _ in range(self.requests):
            started = time.perf_counter()
            self.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        p95 = statistics.quantiles(timings, n=20)[-1]
        if target_ms is None:
            verdict = "for comparison, no target"
        else:
            verdict = f"target p95 < {target_ms} ms: {'ok' if p95 < target_ms else 'MISSED'}"
            if p95 >= target_ms:
                self.misses.append(name)
        print(
            f"{name:<34} p50 {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  "
            f"max {max(timings):6.1f} ms  queries {len(queries):2d}  ({verdict})"
        )

    def time_export(self, master_pid: int) -> None:
        worker = worker_pid(master_pid)
        before_kb = reset_peak_memory(worker)
        started = time.perf_counter()
        request = urllib.request.Request(
            self.base_url + "/calls/export.csv", headers={"Cookie": self.cookie}
        )
        rows = -1  # the header line
        with urllib.request.urlopen(request, timeout=300) as response:
            for _line in response:
                rows += 1
        seconds = time.perf_counter() - started
        growth_mb = (memory_kb(worker, "VmHWM") - before_kb) / 1024
        rate = rows / seconds
        rate_ok = rate >= CSV_MIN_ROWS_PER_SECOND
        memory_ok = growth_mb < CSV_MAX_MEMORY_GROWTH_MB
        if not (rate_ok and memory_ok):
            self.misses.append("CSV export")
        print(
            f"{'CSV export, every leg':<34} {rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s "
            f"(target >= {CSV_MIN_ROWS_PER_SECOND:,}: {'ok' if rate_ok else 'MISSED'}); "
            f"worker peak memory growth {growth_mb:.1f} MB "
            f"(target < {CSV_MAX_MEMORY_GROWTH_MB} MB: {'ok' if memory_ok else 'MISSED'})"
        )
        assert rows == TARGET_LEGS, f"exported {rows} rows, expected {TARGET_LEGS}"


def list_cases() -> list[tuple[str, str]]:
    """(name, path) of each list request: pages deep in the range, every filter and sort."""
    from django.utils import timezone

    from calls.log.paging import call_page_cursor
    from calls.models import Call
    from voiceproject.twilio_ids import client_address

    now = timezone.now()
    parents = Call.objects.filter(parent__isnull=True)
    middle = parents.filter(start_time__lte=now - timedelta(days=DAYS // 2)).order_by(
        "-start_time", "-id"
    )[0]
    near_oldest = parents.order_by("start_time", "id")[30]
    # A customer's call that rang agents: its child legs name them.
    child = Call.objects.filter(parent__id__range=(1000, 2000), agent__isnull=False)[0]
    customer = child.from_number
    week_start = (now - timedelta(days=30)).date()
    week_end = (now - timedelta(days=24)).date()

    def query(**parameters):
        return "/calls/?" + urllib.parse.urlencode(parameters)

    agent = child.agent.identity
    week = {"started_after": week_start, "started_before": week_end}
    deep = call_page_cursor(middle, sort="-start_time")
    oldest = call_page_cursor(near_oldest, sort="-start_time")
    deep_by_duration = call_page_cursor(middle, sort="-duration")
    return [
        ("list: first page", "/calls/"),
        ("list: page 45 days deep", query(cursor=deep)),
        ("list: page near the oldest", query(cursor=oldest)),
        ("list: oldest first", query(sort="start_time")),
        ("list: longest first", query(sort="-duration")),
        ("list: longest first, deep page", query(sort="-duration", cursor=deep_by_duration)),
        ("list: date range (a week)", query(**week)),
        ("list: direction outbound-api", query(direction="outbound-api")),
        ("list: direction outbound-dial", query(direction="outbound-dial")),
        ("list: status no-answer", query(status="no-answer")),
        ("list: status canceled", query(status="canceled")),
        ("list: agent", query(agent=agent)),
        ("list: agent + status no-answer", query(agent=agent, status="no-answer")),
        ("list: agent + date range", query(agent=agent, **week)),
        ("list: customer number", query(number=customer)),
        ("list: our busiest number", query(number="+14155550100")),
        ("list: agent's client address", query(number=client_address(agent))),
        ("list: child SID", query(sid=child.sid)),
        ("list: kind inbound", query(kind="inbound")),
        ("list: kind outbound", query(kind="outbound")),
        ("list: outcome unanswered", query(outcome="unanswered")),
        ("list: outcome in-progress (none)", query(outcome="in-progress")),
        ("list: missed calls", query(kind="inbound", outcome="unanswered")),
        ("list: missed calls, a week", query(kind="inbound", outcome="unanswered", **week)),
        ("list: an agent's missed calls", query(agent=agent, kind="inbound", outcome="unanswered")),
        ("list: answered by an agent", query(answered_by=agent)),
        ("list: answered by, a week", query(answered_by=agent, **week)),
        ("API: first page", "/api/calls/"),
        ("API: status no-answer", "/api/calls/?status=no-answer"),
        ("API: missed calls", "/api/calls/?kind=inbound&outcome=unanswered"),
    ]


def stats_cases() -> list[tuple[str, str]]:
    """The statistics over the whole 90 days, and over a week."""
    from django.utils import timezone

    today = timezone.localdate()
    days = {"started_after": today - timedelta(days=DAYS), "started_before": today}
    week = {
        "started_after": today - timedelta(days=30),
        "started_before": today - timedelta(days=24),
    }
    return [
        ("stats API: 90 days", "/api/calls/stats/?" + urllib.parse.urlencode(days)),
        ("stats page: 90 days", "/calls/stats/?" + urllib.parse.urlencode(days)),
        ("stats API: a week", "/api/calls/stats/?" + urllib.parse.urlencode(week)),
    ]


def detail_cases() -> list[tuple[str, str]]:
    from calls.models import Call

    with_events = Call.objects.filter(parent__isnull=False, events__isnull=False).order_by("id")
    child = with_events.first()
    return [
        ("family page from a child SID", f"/calls/{child.sid}/"),
        ("family page from a parent SID", f"/calls/{child.parent.sid}/"),
        ("API family from a child SID", f"/api/calls/{child.sid}/"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data set")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per case")
    parser.add_argument(
        "--only", choices=["list", "family", "stats", "csv"], help="time this part alone"
    )
    arguments = parser.parse_args()

    create_database()
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
    django.setup()
    from calls.models import Call

    # Data from before families had kinds is built again.
    has_kinds = Call.objects.filter(parent__isnull=True).exclude(kind="").exists()
    if arguments.regenerate or Call.objects.count() != TARGET_LEGS or not has_kinds:
        generate_data()
        roll_up(rebuild=True)
    else:
        print(f"reusing {TARGET_LEGS:,} legs in database {DATABASE} (--regenerate rebuilds)")
        # A migration may have added an index since: the planner needs its statistics.
        with psycopg.connect(database_url(DATABASE), autocommit=True) as connection:
            connection.execute("ANALYZE calls_call")
        # Days settled since the last run, or a database from before the rollup.
        roll_up()
    cookie = analyst_session_cookie()

    with gunicorn(
        "voiceproject.wsgi",
        # As the recorded figures were measured (gunicorn.conf.py would make it gthread).
        options=["--workers=1", "--worker-class=sync", "--timeout=120", "--no-control-socket"],
    ) as (base_url, server):
        bench = Bench(base_url, cookie, arguments.requests)
        pages = [
            ("list", list_cases, LIST_P95_MS),
            ("family", detail_cases, DETAIL_P95_MS),
            ("stats", stats_cases, STATS_P95_MS),
        ]
        for part, cases, target_ms in pages:
            if arguments.only in (None, part):
                for name, path in cases():
                    bench.time_page(name, path, target_ms)
        if arguments.only in (None, "stats"):
            name, path = stats_cases()[0]
            with rollup_emptied():
                bench.time_page(f"{name}, no rollup", path, None)
        if arguments.only in (None, "csv"):
            bench.time_export(server.pid)
    if bench.misses:
        print("missed targets:", ", ".join(bench.misses))
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
