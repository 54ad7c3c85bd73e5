"""Benchmark /api/token/ against Twilio's quickstart token endpoint and a bare Django app.

In one run, in alternating rounds so that noise from other work on the machine falls on every
side alike, wrk drives at 16 connections:
- ours: gunicorn with our gunicorn.conf.py and `-w 2`, DEBUG off, PostgreSQL, an API token;
- the quickstart: benches/quickstart_token_app.py (the helper library, no login, no database)
  under `gunicorn -w 2` sync workers;
- bare Django: benches/bare_django.py (no middleware, one view answering 204) under
  `gunicorn -w 2` sync workers, the framework's floor.

    python benches/token_bench.py [--duration 15] [--rounds 3] [--devices 0]

--devices N also measures N devices taking turns, each with its own API token: with N large
enough that no device asks twice within a second, every request reads the database.

Needs wrk (apt-get install wrk) and PostgreSQL at BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432); creates and drops its own database, token_bench.
Prints each side's rate, latencies, errors and the CPU time a request cost its server (steadier
than rates on a shared machine), the ratios, and which targets are met.

Targets: ours at least half the quickstart's rate, p99 under 50 ms, no errors.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches import bare_django
from benches.harness import (
    OURS_OPTIONS,
    REFERENCE_OPTIONS,
    ROOT,
    CpuMeter,
    bare_django_environment,
    fresh_database,
    gunicorn,
    manage_shell,
    served_environment,
    summarize_wrk_runs,
)

DATABASE_NAME = "token_bench"
CONNECTIONS = 16
TWILIO_ENVIRONMENT = {
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_AUTH_TOKEN": "bench-auth-token",
    "TWILIO_API_KEY_SID": "SK" + "b2" * 16,
    "TWILIO_API_KEY_SECRET": "bench-api-key-secret-0123456789ab",
    "QUICKSTART_APP_SID": "AP" + "c3" * 16,
}
# Run by manage.py shell with the number of devices in DEVICES: agents with an API token each,
# then the queries a first and a repeated token request cost. Prints the keys, then the counts.
CREATE_AGENTS = f"""
import os
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from tokens.api_tokens import api_token_create
from agents.models import Agent, TwimlApp

app = TwimlApp.objects.create(sid="{TWILIO_ENVIRONMENT["QUICKSTART_APP_SID"]}", friendly_name="B")
keys = []
for number in range(int(os.environ["DEVICES"])):
    user = get_user_model().objects.create_user(f"bench_agent_{{number}}")
    Agent.objects.create(user=user, identity=f"bench_agent_{{number}}", twiml_app=app)
    keys.append(api_token_create(user=user, name="bench").key)
client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {{keys[0]}}")
counts = []
for _ in range(2):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/token/").status_code == 200
    counts.append(len(queries))
print(*keys)
print(*counts)
"""
OURS = "ours (/api/token/)"
DEVICES = "ours, {} devices in turn"
QUICKSTART = "quickstart (sync)"
BARE = "bare Django (sync)"


def fetch_token(url: str, headers: dict) -> dict:
    """Get one token and check it is signed with the bench's API key secret."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        body = json.load(response)
    jwt.decode(body["token"], TWILIO_ENVIRONMENT["TWILIO_API_KEY_SECRET"], algorithms=["HS256"])
    return body


def run_wrk(url: str, headers: dict, seconds: int, keys_file: str | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
    command += ["-s", str(ROOT / "benches" / "token_bench.lua"), url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    environment = {**os.environ, **({"TOKEN_BENCH_KEYS": keys_file} if keys_file else {})}
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, env=environment
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per side")
    parser.add_argument("--devices", type=int, default=0, help="also measure N devices in turn")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("token_bench: wrk is missing; install it with: apt-get install wrk")

    environment = served_environment(
        DATABASE_NAME, **TWILIO_ENVIRONMENT, DEVICES=str(max(1, options.devices))
    )
    with fresh_database(DATABASE_NAME, prepare_with=environment):
        output = manage_shell(CREATE_AGENTS, environment=environment)
        keys_line, counts_line = output.splitlines()[-2:]
        keys, queries = keys_line.split(), counts_line.split()
        keys_file = Path(environment["STATIC_ROOT"]) / "keys.txt"
        keys_file.write_text("\n".join(keys) + "\n")
        ours_headers = {"Authorization": f"Token {keys[0]}"}

        bare_environment = bare_django_environment(environment)
        with (
            gunicorn("voiceproject.wsgi", options=OURS_OPTIONS, environment=environment) as (
                ours_base,
                ours_server,
            ),
            gunicorn(
                "benches.quickstart_token_app:application",
                options=REFERENCE_OPTIONS,
                environment=environment,
                ready_path="/",
            ) as (quickstart_url, quickstart_server),
            gunicorn(
                bare_django.APPLICATION,
                options=REFERENCE_OPTIONS,
                environment=bare_environment,
                ready_path=bare_django.PATH,
            ) as (bare_base, bare_server),
        ):
            ours_url = ours_base + "/api/token/"
            assert fetch_token(ours_url, ours_headers)["identity"] == "bench_agent_0"
            fetch_token(quickstart_url, {})
            ours_cpu = CpuMeter(ours_server.pid, database=DATABASE_NAME)
            sides = {
                OURS: (ours_url, ours_headers, None, ours_cpu),
                QUICKSTART: (quickstart_url, {}, None, CpuMeter(quickstart_server.pid)),
                BARE: (bare_base + bare_django.PATH, {}, None, CpuMeter(bare_server.pid)),
            }
            if options.devices:
                sides[DEVICES.format(options.devices)] = (ours_url, {}, str(keys_file), ours_cpu)
            for url, headers, keys_path, _ in sides.values():
                run_wrk(url, headers, 3, keys_path)  # warm-up: connections, imports, caches

            results = {name: [] for name in sides}
            for _ in range(options.rounds):
                for name, (url, headers, keys_path, cpu) in sides.items():
                    results[name].append(
                        cpu.measure(run_wrk, url, headers, options.duration, keys_path)
                    )

    summaries = {name: summarize_wrk_runs(runs) for name, runs in results.items()}
    ours, quickstart, bare = summaries[OURS], summaries[QUICKSTART], summaries[BARE]
    print(
        f"token_bench: {CONNECTIONS} connections, {options.rounds} rounds x {options.duration} s "
        f"per side, alternating; {os.cpu_count()} CPUs (shared); PostgreSQL"
    )
    print(
        f"{'':30} {'req/s':>8} {'each round':>24} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}"
        f" {'server CPU µs/req':>18}"
    )
    for name, summary in summaries.items():
        rounds = " ".join(f"{rate:.0f}" for rate in summary["rates"])
        print(
            f"{name:30} {summary['rate']:8.0f} {rounds:>24} {summary['p50_ms']:7.1f} "
            f"{summary['p99_ms']:7.1f} {summary['errors']:7d} {summary['server_cpu_us']:18.0f}"
        )
    ratio = ours["rate"] / quickstart["rate"]
    floor_ratio = ours["rate"] / bare["rate"]
    print(f"ratio ours/quickstart: {ratio:.2f}; ours/bare Django: {floor_ratio:.2f}")
    print(
        "CPU a request costs the server (gunicorn's processes, and PostgreSQL's for ours), "
        "quickstart/ours: "
        f"{quickstart['server_cpu_us'] / (ours['server_cpu_us'] + ours['database_cpu_us']):.2f}"
    )
    print(f"database round trips: first request {queries[0]}, again within a second {queries[1]}")
    targets = {
        "ours >= 0.5 x quickstart": ratio >= 0.5,
        "ours p99 < 50 ms": ours["p99_ms"] < 50,
        "no errors": all(summary["errors"] == 0 for summary in summaries.values()),
    }
    for target, met in targets.items():
        print(f"target {target}: {'met' if met else 'NOT met'}")
    sys.exit(0 if all(targets.values()) else 1)


if __name__ == "__main__":
    main()
