"""Stop bin/test early, saying what to do, when the database or Redis the tests need is down.

Also creates DATABASE_URL's PostgreSQL database when it is missing: Django's checks connect to
it (the tests themselves use a test_ copy that pytest-django creates).
"""

import os
import sys

import environ
import psycopg
import redis
from psycopg import sql

# What the tests use when REDIS_URL is not set (tests/conftest.py says the same).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def postgresql_ready(url: str) -> str | None:
    """Make sure the database exists; return a problem to report, or None."""
    config = environ.Env.db_url_config(url)
    try:
        with psycopg.connect(
            dbname="postgres",
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            connect_timeout=5,
            autocommit=True,
        ) as db:
            exists = db.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
            ).fetchone()
            if not exists:
                db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    except psycopg.Error as error:
        return f"PostgreSQL at DATABASE_URL is not reachable ({error}).".strip()
    return None


def redis_ready(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        return f"Redis at REDIS_URL ({url}) is not reachable ({error})."
    return None


def main() -> int:
    problems = [redis_ready(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)]
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")):
        problems.append(postgresql_ready(database_url))
    problems = [problem for problem in problems if problem]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            "Start it (or unset DATABASE_URL to test on SQLite), then run bin/test again.",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
