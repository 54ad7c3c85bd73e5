"""What the benchmarks share: a free loopback port, a database of their own, gunicorn, an
analyst's session, and the CPU time and memory of a gunicorn server.

BENCH_POSTGRES_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432).
BENCH_DATABASE_SUFFIX, when set, is appended to every database a benchmark creates, so that
two checkouts can be benchmarked on the same server without dropping each other's data.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DATABASE_SUFFIX = os.environ.get("BENCH_DATABASE_SUFFIX", "")


def database_url(name: str) -> str:
    return f"{SERVER_URL}/{name}{DATABASE_SUFFIX}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _administer(statement: str) -> None:
    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as admin:
        admin.execute(statement)


def drop_database(name: str) -> None:
    _administer(f'DROP DATABASE IF EXISTS "{name}{DATABASE_SUFFIX}" WITH (FORCE)')


def recreate_database(name: str) -> str:
    """An empty database called `name`; returns its URL."""
    drop_database(name)
    _administer(f'CREATE DATABASE "{name}{DATABASE_SUFFIX}"')
    return database_url(name)


def copy_database(source: str, name: str) -> str:
    """A new database called `name` with what `source` holds (no one may be connected to
    it); returns its URL. Drop it with drop_database."""
    drop_database(name)
    _administer(f'CREATE DATABASE "{name}{DATABASE_SUFFIX}" TEMPLATE "{source}{DATABASE_SUFFIX}"')
    return database_url(name)


def create_database_if_missing(name: str) -> str:
    """The database called `name`, kept with its data if it exists; returns its URL."""
    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name + DATABASE_SUFFIX]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}{DATABASE_SUFFIX}"')
    return database_url(name)


@contextmanager
def fresh_database(name: str, *, prepare_with: dict[str, str] | None = None) -> Iterator[str]:
    """A new database for one benchmark run, dropped afterwards; yields its URL.

    With an environment `prepare_with` (DATABASE_URL and STATIC_ROOT included), migrates it
    and collects the static files a server with DEBUG off needs to start.
    """
    url = recreate_database(name)
    try:
        for command in [["migrate"], ["collectstatic"]] if prepare_with is not None else []:
            subprocess.run(
                [sys.executable, "manage.py", *command, "--no-input", "-v0"],
                cwd=ROOT,
                env=prepare_with,
                check=True,
            )
        yield url
    finally:
        drop_database(name)


@contextmanager
def gunicorn(
    app: str,
    *,
    options: list[str],
    environment: dict[str, str] | None = None,
    ready_path: str = "/healthz",
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve a WSGI app on a free loopback port; yield its base URL and the gunicorn master
    once `ready_path` answers, stop it afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, f"--bind=127.0.0.1:{port}", *options],
        cwd=ROOT,
        env=environment,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base_url + ready_path, timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn for {app} did not answer {ready_path}") from None
                time.sleep(0.2)
        yield base_url, server
    finally:
        server.terminate()
        server.wait(timeout=30)


# The references run as `gunicorn -w 2` with gunicorn's defaults (sync workers): an empty
# configuration file instead of ours, which gunicorn would otherwise read from ROOT.
EMPTY_CONFIGURATION = ROOT / "benches" / "gunicorn_defaults.conf.py"
REFERENCE_OPTIONS = [
    *[f"--config={EMPTY_CONFIGURATION}", "--workers=2", "--worker-class=sync"],
    "--log-level=warning",
]
# Ours as operators run it: gunicorn.conf.py (read from ROOT) and `-w 2`.
OURS_OPTIONS = ["--workers=2"]


def served_environment(database: str, **settings: str) -> dict[str, str]:
    """This process's environment as a production server on loopback would have it, with
    the database `database` and these settings: DEBUG off, plain HTTP, a fresh secret key,
    warnings only, static files collected into a new directory, no Redis."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
        # With DEBUG off the server starts only with collected static files.
        "STATIC_ROOT": tempfile.mkdtemp(prefix=f"{database}-static-"),
        # A benchmark needs no beat: production refuses to run without Redis otherwise.
        "ALLOW_UNSAFE": "no-redis",
        **settings,
    }
    environment.pop("REDIS_URL", None)
    return environment


def manage_shell(code: str, *, environment: dict[str, str]) -> str:
    """Run `code` with manage.py shell in ROOT; its standard output."""
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def bare_django_environment(environment: dict[str, str]) -> dict[str, str]:
    """The environment that serves benches/bare_django.py."""
    return {**environment, "DJANGO_SETTINGS_MODULE": "benches.bare_django"}


def analyst_session_cookie() -> str:
    """A Cookie header value logging in a new analyst (Django must be set up)."""
    from tests.factories import UserFactory
    from voiceproject.roles import ANALYSTS

    return session_cookie(UserFactory(username="bench_analyst", groups=[ANALYSTS]))


def session_cookie(user) -> str:
    """A Cookie header value logging this user in (Django must be set up)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def workers(master_pid: int) -> list[int]:
    """The running workers of a gunicorn master."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text()
    return [int(pid) for pid in children.split()]


def worker_pid(master_pid: int) -> int:
    """The first worker of a gunicorn master."""
    return workers(master_pid)[0]


def _cpu_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name; [11:13] are its own user and
    system time, [13:15] those of the children it has reaped, in clock ticks."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _ticks(fields: list[str], first: int) -> int:
    return int(fields[first]) + int(fields[first + 1])


def _own_ticks(pids: list[int]) -> dict[int, int]:
    """Each process's own user and system time, for those still running."""
    ticks = {}
    for pid in pids:
        with suppress(OSError):  # ended meanwhile
            ticks[pid] = _ticks(_cpu_fields(pid), 11)
    return ticks


def _database_backends(database: str) -> list[int]:
    """PostgreSQL's backends connected to `database` on this machine, by their titles."""
    title = f" {database}{DATABASE_SUFFIX} "
    backends = []
    for entry in Path("/proc").iterdir():
        with suppress(OSError):  # gone meanwhile, or not ours to read
            if entry.name.isdigit() and title in (entry / "cmdline").read_text():
                backends.append(int(entry.name))
    return backends


class CpuMeter:
    """CPU time (user and system) a gunicorn server's workers spend, those running and those
    it has reaped, and that of PostgreSQL's backends serving `database` (those connected when
    read: a backend that ends meanwhile takes its time with it).

    Per request, it is steadier than a rate on a shared machine: time stolen by other work
    slows every request down but is not counted as the server's.
    """

    TICK = 1 / os.sysconf("SC_CLK_TCK")

    def __init__(self, master_pid: int, *, database: str | None = None) -> None:
        self.master_pid = master_pid
        self.database = database

    def read(self) -> tuple[dict[int, int], dict[int, int]]:
        """Clock ticks by process, the server's and the database's; the master's reaped
        workers count under its own pid."""
        server = _own_ticks(workers(self.master_pid))
        server[self.master_pid] = _ticks(_cpu_fields(self.master_pid), 13)
        backends = _database_backends(self.database) if self.database else []
        return server, _own_ticks(backends)

    def measure(self, run: Callable[..., dict], *arguments: object) -> dict:
        """run(*arguments)'s result, with the `server_cpu_s` and `database_cpu_s` spent
        meanwhile."""
        before = self.read()
        result = run(*arguments)
        after = self.read()
        server, database = (
            sum(ticks - earlier.get(pid, 0) for pid, ticks in later.items())
            for earlier, later in zip(before, after, strict=True)
        )
        return {
            **result,
            "server_cpu_s": server * self.TICK,
            "database_cpu_s": database * self.TICK,
        }


def memory_kb(pid: int, field: str) -> int:
    """A line of /proc/<pid>/status in kB: VmRSS (now) or VmHWM (peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_memory(pid: int) -> int:
    """Make the process's peak resident set size (VmHWM) its current one; returns it in kB.

    Writing 5 to clear_refs does that; VmHWM read later is then the peak since now.
    """
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory_kb(pid, "VmRSS")


def summarize_wrk_runs(results: list[dict]) -> dict:
    """The runs of one side, as the wrk scripts report each (latencies in microseconds):
    the rate of each and of all, the worst p50 and p99 in milliseconds, errors, and the CPU
    time a request cost the server and the database in microseconds (CpuMeter.measure)."""
    requests = sum(result["requests"] for result in results)
    seconds = sum(result["duration_us"] for result in results) / 1e6
    return {
        **{
            f"{part}_cpu_us": sum(result.get(f"{part}_cpu_s", 0) for result in results)
            / max(1, requests)
            * 1e6
            for part in ("server", "database")
        },
        "rates": [result["requests"] / result["duration_us"] * 1e6 for result in results],
        "rate": requests / seconds,
        "p50_ms": max(result["p50_us"] for result in results) / 1000,
        "p99_ms": max(result["p99_us"] for result in results) / 1000,
        "errors": sum(result["non_2xx"] + result["socket_errors"] for result in results),
    }
