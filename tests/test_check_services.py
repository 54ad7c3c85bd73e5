"""bin/test's service check: stop early, saying what is unreachable, rather than fail later."""

import os
import subprocess
import sys

from django.conf import settings

# Nothing listens on port 1 of loopback: connections are refused at once.
CLOSED = "127.0.0.1:1"


def check_services(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment}
    if "DATABASE_URL" not in environment:
        env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "bin/check_services.py"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_redis_stops_the_tests_with_a_message_naming_it():
    result = check_services(REDIS_URL=f"redis://{CLOSED}/0")

    assert result.returncode == 1
    assert f"Redis at REDIS_URL (redis://{CLOSED}/0) is not reachable" in result.stderr


def test_unreachable_postgresql_stops_the_tests_with_a_message_naming_it():
    result = check_services(DATABASE_URL=f"postgres://postgres@{CLOSED}/voice")

    assert result.returncode == 1
    assert "PostgreSQL at DATABASE_URL is not reachable" in result.stderr
    assert "unset DATABASE_URL to test on SQLite" in result.stderr


def test_reachable_services_pass_the_check():
    assert check_services().returncode == 0
