"""Benchmark: reconcile 100,000 calls from a fake Twilio API into PostgreSQL.

    python benches/reconcile_bench.py [--calls 100000]

Creates its own database (reconcile_bench, on BENCH_POSTGRES_URL), serves generated calls
(parents with a <Dial> child each) from twilio_fakes/rest.py in a separate process in pages of
1,000, then runs a full reconcile from empty and again with nothing changed, and downloads the
same pages with a bare HTTP client for comparison. Targets: from empty within 60 s, peak
memory growth under 150 MB.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.harness import ROOT, fresh_database

DATABASE_NAME = "reconcile_bench"
ACCOUNT_SID = "AC" + "c3" * 16
AUTH_TOKEN = "bench-auth-token"
PAGE_SIZE = 1000
AGENTS = 10
TARGET_SECONDS = 60
TARGET_MEMORY_MB = 150


def start_fake_twilio(calls: int, newest: datetime) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_fakes.rest",
            f"--generated={calls}",
            f"--account-sid={ACCOUNT_SID}",
            f"--username={ACCOUNT_SID}",
            f"--password={AUTH_TOKEN}",
            f"--newest={newest.isoformat()}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakMemory:
    """Sample this process's resident memory every 20 ms and keep the highest."""

    def __init__(self):
        self.peak = rss_mb()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self.stopped.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()


def bare_download(base_url: str, since: datetime) -> tuple[int, float]:
    """Fetch and decode every page with requests alone: the ceiling for any reconciler."""
    session = requests.Session()
    session.auth = (ACCOUNT_SID, AUTH_TOKEN)
    url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    params = {"StartTime>": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "PageSize": PAGE_SIZE}
    count, started = 0, time.perf_counter()
    while url:
        page = session.get(url, params=params, timeout=30).json()
        count += len(page["calls"])
        url = page["next_page_uri"] and base_url + page["next_page_uri"]
        params = None
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    arguments = parser.parse_args()

    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    since = newest - timedelta(seconds=3 * arguments.calls + 3600)
    fake, base_url = start_fake_twilio(arguments.calls, newest)
    try:
        with fresh_database(DATABASE_NAME) as database:
            os.environ.update(
                DATABASE_URL=database,
                DEBUG="0",
                HTTPS_ONLY="0",
                SECRET_KEY="reconcile-bench",
                TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                TWILIO_API_KEY_SID="",
                TWILIO_API_BASE_URL=base_url,
                RECONCILE_PAGE_SIZE=str(PAGE_SIZE),
                LOG_LEVEL="WARNING",
            )
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
            import django

            django.setup()
            run_benchmark(arguments.calls, base_url, since)
    finally:
        fake.terminate()
        fake.wait()


def run_benchmark(calls: int, base_url: str, since: datetime) -> None:
    from django.core.management import call_command
    from django.db import connection

    from calls.models import Call
    from calls.reconcile.runs import reconcile_recent_calls
    from tests.factories import AgentFactory

    call_command("migrate", verbosity=0)
    for number in range(AGENTS):
        AgentFactory(identity=f"agent_{number}", user__password=None)

    queries = 0

    def count_queries(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    print(f"{calls:,} calls in pages of {PAGE_SIZE:,} from {base_url}")
    baseline = rss_mb()
    figures = {}
    for name in ("from empty", "nothing changed"):
        queries = 0
        with PeakMemory() as memory, connection.execute_wrapper(count_queries):
            started = time.perf_counter()
            run = reconcile_recent_calls(since=since)
            seconds = time.perf_counter() - started
        figures[name] = (seconds, memory.peak - baseline)
        print(
            f"{name:>16}: {run.calls_seen:,} calls in {seconds:.1f} s = "
            f"{run.calls_seen / seconds:,.0f} calls/s; created {run.calls_created:,}, "
            f"updated {run.calls_updated:,}; {queries / run.pages:.1f} queries per page; "
            f"peak memory growth {memory.peak - baseline:.0f} MB"
        )
    assert Call.objects.count() == calls, "every generated call should be stored once"

    downloaded, download_seconds = bare_download(base_url, since)
    download_rate = downloaded / download_seconds
    print(
        f"{'bare download':>16}: {downloaded:,} calls in {download_seconds:.1f} s = "
        f"{download_rate:,.0f} calls/s (requests + json, no database)"
    )
    for name, (seconds, _) in figures.items():
        print(f"{'ratio':>16}: {name} runs at {calls / seconds / download_rate:.0%} of it")
    empty_seconds = figures["from empty"][0]
    worst_memory = max(growth for _, growth in figures.values())
    print(
        f"{'targets':>16}: from empty {empty_seconds:.1f} s "
        f"({'met' if empty_seconds <= TARGET_SECONDS else 'MISSED'}, <= {TARGET_SECONDS} s); "
        f"peak memory growth {worst_memory:.0f} MB "
        f"({'met' if worst_memory < TARGET_MEMORY_MB else 'MISSED'}, < {TARGET_MEMORY_MB} MB)"
    )


if __name__ == "__main__":
    main()
