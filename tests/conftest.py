import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY_ARGS, MEDIA_ARGS, SCREENSHOTS
from twilio_fakes.rest import FakeTwilio
from voiceproject import streams
from voiceproject.celery import app as celery_app

# Credentials shaped like Twilio's, used by every test; nothing here reaches Twilio.
TEST_ACCOUNT_SID = "AC" + "a1" * 16
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
TEST_API_KEY_SID = "SK" + "b2" * 16
TEST_API_KEY_SECRET = "test-api-key-secret-0123456789ab"
# Redis for the tests that need a real broker (bin/check_services.py says the same default).
TEST_REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
# This test session's own Celery queue, so that two runs sharing one Redis never take each
# other's tasks.
SESSION_QUEUE = f"tests-{uuid.uuid4().hex[:12]}"
# Our number that rings the agents of the `agents` fixture.
SUPPORT_LINE = "+14155550100"


@pytest.fixture
def chromium():
    """Headless Chromium with a fake microphone, reaching nothing but the live server."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + MEDIA_ARGS + LOOPBACK_ONLY_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def twilio_credentials(settings):
    settings.TWILIO_ACCOUNT_SID = TEST_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = TEST_AUTH_TOKEN
    settings.TWILIO_API_KEY_SID = TEST_API_KEY_SID
    settings.TWILIO_API_KEY_SECRET = TEST_API_KEY_SECRET
    settings.TWILIO_REGION = ""
    settings.TWILIO_EDGE = ""
    settings.TWILIO_TOKEN_TTL = 3600
    return settings


@pytest.fixture(autouse=True)
def recorded_webhook_dates_accepted(settings):
    """Accept the webhooks of the recorded scenarios, dated November 2026, whenever the
    tests run; tests of the timestamp window set their own."""
    settings.WEBHOOK_TIMESTAMP_MAX_AGE = 20 * 365 * 24 * 60 * 60


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash test passwords cheaply: the production hasher costs a third of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """Test databases of this test process's own, so that two runs on one machine never meet.

    SQLite in a file, not in memory, so live-server threads get connections of their own: in
    memory, Django shares one connection between the test and every server thread, and
    concurrent requests then interleave inside each other's transactions. PostgreSQL's test
    database is named after this process as well as the suite's database.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    test = database.setdefault("TEST", {})
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")
    else:
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """The cache under a key prefix of this test's own: what is kept there (throttles' counts,
    users' stream slots) starts from nothing, whatever earlier tests and runs left in the
    shared Redis."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


@pytest.fixture(autouse=True)
def every_stream_slot_free(settings):
    """Every slot of the process's streams free: a test may leave a streamed answer unread
    and unclosed, which a server never does (it closes every answer)."""
    streams._process_streams = threading.BoundedSemaphore(settings.STREAMS_PER_PROCESS)


@pytest.fixture
def fake_twilio(settings):
    """Twilio's Calls API on loopback, with the REST client pointed at it and quick retries."""
    fake = FakeTwilio(
        account_sid=TEST_ACCOUNT_SID,
        auth_token=TEST_AUTH_TOKEN,
        credentials={(TEST_API_KEY_SID, TEST_API_KEY_SECRET)},
    ).start()
    settings.TWILIO_API_BASE_URL = fake.base_url
    settings.TWILIO_API_TIMEOUT = 2.0
    settings.TWILIO_API_RETRIES = 3
    settings.TWILIO_API_BACKOFF = 0.01
    settings.TWILIO_API_BACKOFF_MAX = 2.0
    yield fake
    fake.stop()


@pytest.fixture
def celery_in_process():
    """Run tasks in-process, as the settings do when no broker is configured."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield celery_app
    celery_app.conf.task_always_eager = previous


@contextmanager
def celery_broker(broker_url: str, result_backend: str = TEST_REDIS_URL) -> Iterator[None]:
    """Send tasks to this broker, on this session's own queue, as a process started with it
    would: the app keeps the connection pools and the result backend it made first, so they
    are dropped on the way in and out."""
    changed = {
        "broker_url": broker_url,
        "result_backend": result_backend,
        "task_default_queue": SESSION_QUEUE,
    }
    previous = {name: celery_app.conf[name] for name in [*changed, "task_always_eager"]}

    def reconnect():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        celery_app._backend_cache = None
        vars(celery_app._local).pop("backend", None)

    celery_app.conf.update(changed, task_always_eager=False)
    reconnect()
    try:
        yield
    finally:
        celery_app.conf.update(previous)
        reconnect()


@pytest.fixture
def celery_on_redis():
    """Point the app at real Redis (REDIS_URL) and run a worker thread on this session's queue."""
    with (
        celery_broker(TEST_REDIS_URL),
        start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            loglevel="WARNING",
            queues=[SESSION_QUEUE],
        ),
    ):
        yield celery_app


@pytest.fixture
def celery_workers_on_redis():
    """As celery_on_redis, with two tasks at a time, as a worker of two processes runs them."""
    with (
        celery_broker(TEST_REDIS_URL),
        start_worker(
            celery_app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            loglevel="WARNING",
            queues=[SESSION_QUEUE],
        ),
    ):
        yield celery_app


class RedisServer:
    """A redis-server of the test's own on a free loopback port, to stop and start again."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"],
                *["--save", "", "--appendonly", "no"],
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_down():
    """The broker is a Redis that does not answer; `.start()` brings it up on its port."""
    server = RedisServer()
    try:
        with celery_broker(server.url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def database_down(transactional_db):
    """Point the connection at a database that is not there: a closed port, or for SQLite a
    file in a directory that does not exist. Yields a function that brings it back."""
    original = dict(connection.settings_dict)

    def restore():
        connection.close()
        connection.settings_dict.update(original)

    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/directory/voice.sqlite3"
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    yield restore
    restore()


@pytest.fixture
def agents():
    """Agents alice and bob, whose softphones ring for SUPPORT_LINE and call out from it."""
    from tests.factories import AgentFactory, PhoneNumberFactory

    alice = AgentFactory(identity="alice", caller_id=SUPPORT_LINE)
    bob = AgentFactory(identity="bob", caller_id=SUPPORT_LINE)
    PhoneNumberFactory(number=SUPPORT_LINE).agents.add(alice, bob)
    return alice, bob


@pytest.fixture
def back_to_the_latest_schema(transactional_db):
    """Leave the database migrated to the latest schema after a test of a data migration."""
    from tests.migrations import migrate_to_the_latest_schema

    yield
    migrate_to_the_latest_schema()
