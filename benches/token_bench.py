"""Benchmark /api/token/ against Twilio's quickstart token endpoint, served the same way.

Ours runs as in production (gunicorn, DEBUG=0, PostgreSQL, API token header); the reference
is benches/quickstart_token_app.py (the helper library, no login, no database) under the
same gunicorn settings. wrk drives both with the same load, rounds interleaved so that noise
from other work on the machine falls on both sides. /healthz is measured too, as the floor:
what the cheapest Django view of ours (one query, no DRF) reaches under the same load.

    python benches/token_bench.py [--duration 15] [--rounds 2]

Needs wrk (apt-get install wrk) and PostgreSQL at BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432); creates and drops its own database, token_bench.
Targets: ours at least half the reference's rate, p99 under 50 ms at 16 connections.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.harness import ROOT, database_url, fresh_database, gunicorn

DATABASE_NAME = "token_bench"
CONNECTIONS = 16
TWILIO_ENVIRONMENT = {
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_AUTH_TOKEN": "bench-auth-token",
    "TWILIO_API_KEY_SID": "SK" + "b2" * 16,
    "TWILIO_API_KEY_SECRET": "bench-api-key-secret-0123456789ab",
    "QUICKSTART_APP_SID": "AP" + "c3" * 16,
}
# Run by manage.py shell: an agent with an API token, then the queries one token request
# costs. Prints both on its last line.
CREATE_AGENT = f"""
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from tokens.api_tokens import api_token_create
from agents.models import Agent, TwimlApp

app = TwimlApp.objects.create(sid="{TWILIO_ENVIRONMENT["QUICKSTART_APP_SID"]}", friendly_name="B")
user = get_user_model().objects.create_user("bench_agent")
Agent.objects.create(user=user, identity="bench_agent", twiml_app=app)
key = api_token_create(user=user, name="bench").key
client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {{key}}")
with CaptureQueriesContext(connection) as queries:
    assert client.get("/api/token/").status_code == 200
print(key, len(queries))
"""


def fetch_token(url: str, headers: dict) -> dict:
    """Get one token and check it is signed with the bench's API key secret."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        body = json.load(response)
    jwt.decode(body["token"], TWILIO_ENVIRONMENT["TWILIO_API_KEY_SECRET"], algorithms=["HS256"])
    return body


def run_wrk(url: str, headers: dict, seconds: int) -> dict:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
    command += ["-s", str(ROOT / "benches" / "token_bench.lua"), url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    if result["non_2xx"] or result["socket_errors"]:
        raise SystemExit(f"token_bench: {url} failed under load: {result}")
    return result


def summarize(results: list[dict]) -> dict:
    requests = sum(result["requests"] for result in results)
    seconds = sum(result["duration_us"] for result in results) / 1e6
    return {
        "requests": requests,
        "rate": requests / seconds,
        "p50_ms": max(result["p50_us"] for result in results) / 1000,
        "p99_ms": max(result["p99_us"] for result in results) / 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs per side")
    # One server configuration for both sides: a process per core, threads so that keep-alive
    # connections are served while another request waits on the database.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("token_bench: wrk is missing; install it with: apt-get install wrk")

    environment = {
        **os.environ,
        **TWILIO_ENVIRONMENT,
        "DATABASE_URL": database_url(DATABASE_NAME),
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # With DEBUG off the server starts only with collected static files.
        "STATIC_ROOT": tempfile.mkdtemp(prefix="token-bench-static-"),
    }
    environment.pop("REDIS_URL", None)
    with fresh_database(DATABASE_NAME, prepare_with=environment):
        key, queries = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", CREATE_AGENT],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-2:]
        ours_headers = {"Authorization": f"Token {key}"}

        server_options = ["--workers", str(options.workers), "--threads", str(options.threads)]
        server_options += ["--worker-class", "gthread", "--log-level", "warning"]
        ours_app, ref_app = (
            "voiceproject.wsgi:application",
            "benches.quickstart_token_app:application",
        )
        with (
            gunicorn(ours_app, options=server_options, environment=environment) as (ours_base, _),
            gunicorn(ref_app, options=server_options, environment=environment, ready_path="/") as (
                ref_url,
                _,
            ),
        ):
            ours_url = ours_base + "/api/token/"
            assert fetch_token(ours_url, ours_headers)["identity"] == "bench_agent"
            fetch_token(ref_url, {})
            sides = {
                "ours (/api/token/, API token)": (ours_url, ours_headers),
                "reference (quickstart)": (ref_url, {}),
                # Context, not a target: the cheapest view of ours, one query and no DRF.
                "django floor (/healthz)": (ours_base + "/healthz", {}),
            }
            for url, headers in sides.values():
                run_wrk(url, headers, 3)  # warm-up: connections, imports, caches

            results = {name: [] for name in sides}
            for _ in range(options.rounds):
                for name, (url, headers) in sides.items():
                    results[name].append(run_wrk(url, headers, options.duration))

    summaries = {name: summarize(runs) for name, runs in results.items()}
    ours, reference = (
        summaries["ours (/api/token/, API token)"],
        summaries["reference (quickstart)"],
    )
    print(
        f"token_bench: {CONNECTIONS} connections, {options.rounds} x {options.duration} s per "
        f"side, gunicorn gthread {options.workers} workers x {options.threads} threads, PostgreSQL"
    )
    print(f"{'':30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, summary in summaries.items():
        print(f"{name:30} {summary['rate']:9.1f} {summary['p50_ms']:8.1f} {summary['p99_ms']:8.1f}")
    print(f"ratio ours/reference: {ours['rate'] / reference['rate']:.2f} (target >= 0.5)")
    print(f"p99 ours: {ours['p99_ms']:.1f} ms (target < 50 ms)")
    print(f"database round trips per token request: {queries} (CONN_HEALTH_CHECKS adds one)")


if __name__ == "__main__":
    main()
