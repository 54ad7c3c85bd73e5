"""Profile the two hot paths in-process: GET /api/token/ and a signed status callback.

Calls the production WSGI application (voiceproject.wsgi, DEBUG off, PostgreSQL) directly,
without a server or a socket, so that a profile shows our request path and nothing else:

    python benches/profile_hot_paths.py [--requests 2000] [--path token|callback] [--top 25]

It prints the time and the CPU time of a request (in this process, and in PostgreSQL's
backend), then where the time goes: pyinstrument's flat profile by default (each function's
own time, waits on PostgreSQL included), or cProfile's (--profiler cprofile [--sort
cumulative]: every call counted, CPU time only, so the load of other work on the machine does
not blur it, though small calls look dearer).
--profiler none runs the requests bare, for an outside profiler:

    py-spy record --format raw -o /tmp/callbacks.raw -- \
        python benches/profile_hot_paths.py --profiler none --path callback
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
        python benches/profile_hot_paths.py --profiler none --path token

Creates and drops its own database, profile_hot_paths.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.harness import fresh_database, manage_shell, served_environment

DATABASE_NAME = "profile_hot_paths"
from benches.callback_bench import ACCOUNT_SID, AUTH_TOKEN, signed_callbacks  # noqa: E402

TWILIO_ENVIRONMENT = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_API_KEY_SID": "SK" + "b2" * 16,
    "TWILIO_API_KEY_SECRET": "profile-api-key-secret-0123456789",
}
CREATE_AGENT = """
from django.contrib.auth import get_user_model
from agents.models import Agent, TwimlApp
from tokens.api_tokens import api_token_create

app = TwimlApp.objects.create(sid="AP" + "c3" * 16, friendly_name="Profile")
user = get_user_model().objects.create_user("profile_agent")
Agent.objects.create(user=user, identity="profile_agent", twiml_app=app)
print(api_token_create(user=user, name="profile").key)
"""


def token_environ(key: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/token/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Token {key}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
    }


def callback_environs(count: int) -> list[dict]:
    """Distinct signed status callbacks, as callback_bench sends them."""
    url = "http://127.0.0.1:8000/twilio/status/"
    environs = []
    for body, signature in signed_callbacks(url, count):
        data = body.encode()
        environs.append(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/twilio/status/",
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "HTTP_HOST": "127.0.0.1:8000",
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(data)),
                "HTTP_X_TWILIO_SIGNATURE": signature,
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(data),
                "wsgi.errors": sys.stderr,
            }
        )
    return environs


class DatabaseCpu:
    """CPU time PostgreSQL's backend for this process's connection spends from now on (user
    and system, from /proc): like the process's own CPU time, hardly moved by other work on
    the machine, where times in seconds are."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (self.pid,) = cursor.fetchone()
        self.began = self.now()

    def now(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def spent(self) -> float:
        return self.now() - self.began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--path", choices=["token", "callback"], default="token")
    parser.add_argument(
        "--profiler", choices=["pyinstrument", "cprofile", "none"], default="pyinstrument"
    )
    parser.add_argument("--top", type=int, default=25, help="lines of the profile to print")
    parser.add_argument("--sort", default="tottime", help="cProfile's order: tottime, cumulative")
    options = parser.parse_args()

    environment = served_environment(DATABASE_NAME, **TWILIO_ENVIRONMENT)
    with fresh_database(DATABASE_NAME, prepare_with=environment):
        key = manage_shell(CREATE_AGENT, environment=environment).split()[-1]
        os.environ.update(environment)
        from voiceproject.wsgi import application

        if options.path == "token":
            environs = [token_environ(key) for _ in range(options.requests + 50)]
        else:
            environs = callback_environs(options.requests + 50)
        statuses: dict[str, int] = {}

        def start_response(status: str, headers: list) -> None:
            statuses[status] = statuses.get(status, 0) + 1

        def run(batch: list[dict]) -> None:
            for environ in batch:
                response = application(environ, start_response)
                b"".join(response)
                response.close()

        run(environs[:50])  # warm-up: the connection, imports, caches
        database_cpu = DatabaseCpu()
        began, cpu_began = time.perf_counter(), time.process_time()
        if options.profiler == "pyinstrument":
            from pyinstrument import Profiler

            with Profiler(interval=0.0002) as profiler:
                run(environs[50:])
        elif options.profiler == "cprofile":
            # Deterministic: every call counted, CPU time only, so the load of other work on
            # the machine does not blur it (the database's time shows as waits).
            profile = cProfile.Profile(time.process_time)
            profile.runcall(run, environs[50:])
        else:
            run(environs[50:])
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        server_cpu = database_cpu.spent()
        from django.db import connections

        connections.close_all()

    each = elapsed / options.requests * 1e6
    cpu_each = cpu / options.requests * 1e6
    server_each = server_cpu / options.requests * 1e6
    print(
        f"{options.path}: {options.requests} requests, {each:.0f} µs each, {cpu_each:.0f} µs CPU"
        f" here and {server_each:.0f} µs CPU in PostgreSQL's backend"
    )
    print(f"answers: {statuses}")
    if options.profiler == "pyinstrument":
        # Flat: each function's own time, largest first; the tree hides many small costs.
        text = profiler.output_text(unicode=True, color=False, flat=True)
        print("\n".join(text.splitlines()[: options.top + 8]))
    elif options.profiler == "cprofile":
        pstats.Stats(profile).sort_stats(options.sort).print_stats(options.top)


if __name__ == "__main__":
    main()
