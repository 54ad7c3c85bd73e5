"""Streamed answers (the CSV export, recordings' audio) against the production web server:
one user's slow readers never keep Twilio's webhooks or token renewals waiting, a stalled
export holds no transaction, and a stream ends at its time limit, giving its slot back."""

import email.utils
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import global_settings, settings
from django.db import connection
from django.utils import timezone

from calls.models import Call
from tests.factories import AgentFactory, CallFactory, UserFactory, api_token_header
from tests.test_production import (  # noqa: F401  (fixtures)
    logged_in_analyst,
    processes,
    production_environment,
    run_manage,
    start_web_server,
)
from tests.twilio_requests import child_callback, post_signed_over_http
from voiceproject.roles import ANALYSTS

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_READERS = 48
LEGS = 40_000


@pytest.fixture
def analyst_and_calls(settings):
    """The analyst `ana` (her password hashed as the server hashes it) and about 8 MB of CSV
    to export: more than loopback's socket buffers hold."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    UserFactory(username="ana", groups=[ANALYSTS])
    legs_like(CallFactory(), count=LEGS - 1)


def legs_like(template: Call, *, count: int) -> None:
    """`count` more legs like `template`, each with a SID of its own, written by PostgreSQL in
    one statement: building tens of thousands of model instances takes a busy machine
    minutes."""
    columns = ", ".join(
        field.column for field in Call._meta.concrete_fields if field.column not in ("id", "sid")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO calls_call (sid, {columns}) SELECT 'CA' || md5(random()::text || n),"
            f" {columns} FROM calls_call, generate_series(1, %s) AS n WHERE id = %s",
            [count, template.id],
        )


def session_cookie(base: str) -> str:
    analyst, _ = logged_in_analyst(base)
    return f"{settings.SESSION_COOKIE_NAME}={analyst.cookies[settings.SESSION_COOKIE_NAME]}"


def export_reader(base: str, cookie: str) -> socket.socket:
    """Ask for the CSV export of every leg on a connection whose reader takes nothing more
    than its small receive buffer: the server's thread waits for it, as for a slow link."""
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = base.removeprefix("http://").split(":")
    reader.connect((host, int(port)))
    reader.sendall(
        f"GET /calls/export.csv HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    return reader


def answer_head(reader: socket.socket) -> str:
    """The status line and headers the server sent first."""
    reader.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        received = reader.recv(1024)
        if not received:
            break
        head += received
    return head.split(b"\r\n\r\n")[0].decode()


def read_slowly(response: requests.Response) -> None:
    """Read the whole answer at about 300 KB/s: 6 MB of CSV take longer than 5 s."""
    for _ in response.iter_content(chunk_size=16_384):
        time.sleep(0.05)


def timed(request) -> tuple[int, float]:
    sent = time.monotonic()
    status = request().status_code
    return status, time.monotonic() - sent


def test_one_users_slow_streams_leave_webhooks_and_token_renewals_answered_at_once(
    production_environment,  # noqa: F811
    processes,  # noqa: F811
    tmp_path,
    analyst_and_calls,
):
    """48 exports asked for by one analyst and read by nobody: she streams STREAMS_PER_USER
    of them and is told to retry the rest (429, Retry-After), and meanwhile every signed
    status callback and every token renewal answers within a second."""
    # API tokens are bound to the password through SECRET_KEY: the server must share ours,
    # the suite's development key, which production refuses unless told.
    env = {
        **production_environment,
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOW_UNSAFE": "weak-secret-key",
    }
    collected = run_manage("collectstatic", "--no-input", "-v0", **env)
    assert collected.returncode == 0, collected.stderr
    # The pool is gunicorn.conf.py's own (one process per core, 16 threads each).
    del env["WEB_CONCURRENCY"], env["GUNICORN_THREADS"]
    renewal = api_token_header(AgentFactory().user)
    base = start_web_server(processes, env, tmp_path)
    cookie = session_cookie(base)
    readers = [export_reader(base, cookie) for _ in range(SLOW_READERS)]
    try:
        heads = [answer_head(reader) for reader in readers]
        time.sleep(1)  # the streamed exports have filled their buffers
        with ThreadPoolExecutor(max_workers=8) as pool:
            callbacks = list(
                pool.map(
                    lambda _: timed(
                        lambda: post_signed_over_http(
                            f"{base}/twilio/status/",
                            child_callback(Timestamp=email.utils.format_datetime(timezone.now())),
                        )
                    ),
                    range(8),
                )
            )
            renewals = list(
                pool.map(
                    lambda _: timed(
                        lambda: requests.get(f"{base}/api/token/", headers=renewal, timeout=10)
                    ),
                    range(8),
                )
            )
    finally:
        for reader in readers:
            reader.close()

    streamed = [head for head in heads if head.startswith("HTTP/1.1 200")]
    refused = [head for head in heads if head.startswith("HTTP/1.1 429")]
    assert len(streamed) == settings.STREAMS_PER_USER
    assert len(refused) == SLOW_READERS - settings.STREAMS_PER_USER
    assert all("Retry-After: " in head for head in refused)
    assert [status for status, _ in callbacks] == [204] * 8
    assert [status for status, _ in renewals] == [200] * 8
    assert max(seconds for _, seconds in callbacks + renewals) < 1.0


def test_a_stalled_export_holds_no_transaction_open(
    production_environment,  # noqa: F811
    processes,  # noqa: F811
    tmp_path,
    analyst_and_calls,
):
    base = start_web_server(processes, {**production_environment, "DEBUG": "1"}, tmp_path)
    reader = export_reader(base, session_cookie(base))
    try:
        assert answer_head(reader).startswith("HTTP/1.1 200")
        time.sleep(2)  # the export has filled the buffers and waits for its reader
        with connection.cursor() as cursor:
            # A batch's two queries may leave a moment between them on a busy machine; a
            # stalled reader that held the transaction would leave it idle for seconds.
            cursor.execute(
                "SELECT state, now() - state_change > interval '1 second' FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            states = cursor.fetchall()
    finally:
        reader.close()

    assert states, "the server's connection is listed"
    assert not [
        state for state, lasting in states if state.startswith("idle in transaction") and lasting
    ]


def test_a_stream_past_its_time_limit_is_cut_off_and_gives_its_slot_back(
    production_environment,  # noqa: F811
    processes,  # noqa: F811
    tmp_path,
    analyst_and_calls,
):
    """The reader sees an incomplete download (no final chunk), never a short file that
    looks whole, and the user's only slot is free again for her next export."""
    # Far more CSV than loopback's socket buffers hold, so the server is still writing at 5 s.
    legs_like(Call.objects.first(), count=3 * LEGS)
    env = {
        **production_environment,
        "DEBUG": "1",
        "STREAM_TIME_LIMIT": "5",
        "STREAMS_PER_USER": "1",
    }
    base = start_web_server(processes, env, tmp_path)
    cookie = session_cookie(base)
    export = f"{base}/calls/export.csv"
    began = time.monotonic()
    with requests.get(export, headers={"Cookie": cookie}, stream=True, timeout=30) as slow:
        assert slow.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            read_slowly(slow)
    cut_after = time.monotonic() - began
    with requests.get(export, headers={"Cookie": cookie}, stream=True, timeout=30) as again:
        again_status = again.status_code

    assert 5 <= cut_after < 15
    assert again_status == 200


def test_exports_and_recordings_count_against_one_limit_and_a_closed_stream_frees_its_slot(
    client,
):
    client.force_login(UserFactory(groups=[ANALYSTS]))
    recording = "/recordings/RE" + "0" * 32 + ".mp3"
    exports = [client.get("/calls/export.csv") for _ in range(settings.STREAMS_PER_USER)]
    refused = client.get(recording)
    exports[0].close()  # the reader went away
    admitted = client.get(recording)
    for export in exports[1:]:
        export.close()

    assert [export.status_code for export in exports] == [200] * settings.STREAMS_PER_USER
    assert refused.status_code == 429
    assert refused["Retry-After"] == "10"
    assert admitted.status_code == 404  # past the limit: no such recording


def test_an_export_streams_while_the_shared_cache_does_not_answer(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    client.force_login(UserFactory(groups=[ANALYSTS]))
    CallFactory()

    export = client.get("/calls/export.csv")
    rows = b"".join(export.streaming_content).decode().splitlines()

    assert export.status_code == 200
    assert len(rows) == 2
