"""The production shape, started for real: gunicorn from gunicorn.conf.py with DEBUG=0 and
collected static files, a Celery worker and beat on Redis, PostgreSQL, and the fake Twilio
REST API. A signed call goes in; the call log shows it reconciled."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
from django.conf import global_settings, settings
from django.db import connection
from django.utils import timezone

from calls.models import Call
from tests.conftest import (
    SESSION_QUEUE,
    TEST_ACCOUNT_SID,
    TEST_API_KEY_SECRET,
    TEST_API_KEY_SID,
    TEST_AUTH_TOKEN,
    TEST_REDIS_URL,
)
from tests.factories import DEFAULT_PASSWORD, AgentFactory, PhoneNumberFactory, UserFactory
from tests.test_settings import run_manage
from tests.twilio_requests import child_callback, post_signed_over_http
from voiceproject.roles import ANALYSTS

pytestmark = pytest.mark.django_db(transaction=True)

OUR_NUMBER = "+14155550100"
CUSTOMER = "+12125550123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def production_environment(tmp_path, fake_twilio) -> dict:
    """The environment a deployment sets, pointed at the test database and the fake API."""
    if connection.vendor != "postgresql":
        pytest.skip("the production shape runs on PostgreSQL (set DATABASE_URL)")
    database = connection.settings_dict
    return {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # Plain HTTP on loopback, where the reverse proxy would stand.
        "HTTPS_ONLY": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": TEST_REDIS_URL,
        "CELERY_QUEUE": SESSION_QUEUE,
        "STATIC_ROOT": str(tmp_path / "static"),
        "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        "TWILIO_API_KEY_SID": TEST_API_KEY_SID,
        "TWILIO_API_KEY_SECRET": TEST_API_KEY_SECRET,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "RECONCILE_INTERVAL": "10",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }


@pytest.fixture
def processes():
    """Start processes; stop every one of them (by its own id) at the end."""
    started: list[subprocess.Popen] = []

    def start(arguments: list[str], env: dict, log: Path) -> subprocess.Popen:
        process = subprocess.Popen(
            arguments,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until(condition, *, seconds: float, what: str, logs: list[Path]):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    details = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    raise AssertionError(f"{what} within {seconds} s\n{details}")


def answering(url: str):
    def probe():
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    return probe


def test_without_collected_static_files_the_server_refuses_to_start(
    production_environment, tmp_path
):
    result = subprocess.run(
        [sys.executable, "-c", "import voiceproject.wsgi"],
        cwd=settings.BASE_DIR,
        env=production_environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "The collected static files are missing" in result.stderr
    assert "collectstatic" in result.stderr


def test_gunicorn_refuses_to_start_with_one_line_per_problem_and_no_worker(
    production_environment,
):
    environment = {
        **production_environment,
        "ALLOWED_HOSTS": "*",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
    }

    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "voiceproject.wsgi"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    refusals = [line for line in result.stderr.splitlines() if line.startswith("Refusing")]
    assert sorted(refusal.rsplit(" ", 1)[-1] for refusal in refusals) == [
        "(voiceproject.E001)",
        "(voiceproject.E003)",
    ]
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr


def test_gunicorn_names_a_malformed_variable_in_one_line(production_environment):
    environment = {**production_environment, "TRUST_X_FORWARDED_PROTO": "yes please"}

    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "voiceproject.wsgi"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr == (
        "Configuration error: TRUST_X_FORWARDED_PROTO must be one of 1/0, true/false, "
        "yes/no, on/off; got 'yes please'.\n"
    )


def test_a_signed_call_reaches_the_reconciled_call_log(
    production_environment, processes, fake_twilio, tmp_path, settings
):
    env = production_environment
    collected = run_manage("collectstatic", "--no-input", "-v0", **env)
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = [tmp_path / name for name in ("gunicorn.log", "worker.log", "beat.log")]
    # A plain `gunicorn voiceproject.wsgi`: the settings come from gunicorn.conf.py.
    processes(
        [sys.executable, "-m", "gunicorn", "voiceproject.wsgi"],
        {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        logs[0],
    )
    celery = [sys.executable, "-m", "celery", "-A", "voiceproject"]
    processes([*celery, "worker", "--pool", "solo", "--loglevel", "INFO"], env, logs[1])
    processes(
        [*celery, "beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
        env,
        logs[2],
    )
    agent = AgentFactory(identity="alice", availability="available")
    PhoneNumberFactory(number=OUR_NUMBER).agents.add(agent)
    # Hashed as the server's settings hash it: gunicorn knows no test-only hasher.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    UserFactory(username="ana", groups=[ANALYSTS])
    wait_until(answering(f"{base}/healthz"), seconds=20, what="gunicorn answered", logs=logs)
    assert "Using worker: gthread" in logs[0].read_text()

    parent_sid, child_sid = "CA" + secrets.token_hex(16), "CA" + secrets.token_hex(16)
    form = {
        "AccountSid": TEST_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": parent_sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": CUSTOMER,
        "Caller": CUSTOMER,
        "To": OUR_NUMBER,
        "Called": OUR_NUMBER,
    }
    voice_url = f"{base}/twilio/voice/"
    answer = post_signed_over_http(voice_url, form)
    assert answer.status_code == 200, answer.text
    assert "<Client" in answer.text
    assert "<Identity>alice</Identity>" in answer.text

    # What Twilio's REST API knows once the call is over: the parent and alice's leg.
    started = timezone.now() - timedelta(seconds=40)
    fake_twilio.add_call(
        parent_sid, from_=CUSTOMER, to=OUR_NUMBER, start_time=started,
        end_time=started + timedelta(seconds=30), duration=30,
    )  # fmt: skip
    fake_twilio.add_call(
        child_sid, parent_call_sid=parent_sid, direction="outbound-dial", from_=CUSTOMER,
        to="client:alice", start_time=started + timedelta(seconds=2),
        end_time=started + timedelta(seconds=30), duration=28,
    )  # fmt: skip
    wait_until(
        lambda: (
            Call.objects.filter(sid=child_sid, parent__sid=parent_sid, agent=agent).exists()
            and Call.objects.get(sid=parent_sid).status == "completed"
        ),
        seconds=25,
        what="beat and the worker reconciled the call",
        logs=logs,
    )

    analyst, login = logged_in_analyst(base)
    assert login.url == f"{base}/"
    family = analyst.get(f"{base}/calls/{parent_sid}/", timeout=10)
    assert family.status_code == 200
    assert child_sid in family.text
    assert "completed" in family.text
    call_log = analyst.get(f"{base}/calls/", timeout=10)
    assert f"/calls/{parent_sid}/" in call_log.text
    stylesheet = re.search(r'href="(/static/voice/site\.[0-9a-f]{12}\.css)"', call_log.text)
    assert stylesheet, "pages link the hashed, collected stylesheet"
    assert analyst.get(base + stylesheet[1], timeout=10).status_code == 200
    missing = analyst.get(f"{base}/no-such-page/", timeout=10)
    assert missing.status_code == 404
    assert "There is no such page" in missing.text


def logged_in_analyst(base: str) -> tuple[requests.Session, requests.Response]:
    """A session logged in at /login/ as the analyst `ana`, and the login's answer."""
    analyst = requests.Session()
    analyst.get(f"{base}/login/", timeout=10)
    login = analyst.post(
        f"{base}/login/",
        data={
            "username": "ana",
            "password": DEFAULT_PASSWORD,
            "csrfmiddlewaretoken": analyst.cookies["csrftoken"],
        },
        timeout=10,
    )
    return analyst, login


def start_web_server(processes, env: dict, tmp_path) -> str:
    """gunicorn as production starts it, from gunicorn.conf.py; returns its base URL once it
    answers."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    processes(
        [sys.executable, "-m", "gunicorn", "voiceproject.wsgi"],
        {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(answering(f"{base}/healthz"), seconds=20, what="gunicorn answered", logs=[log])
    return base


@pytest.mark.parametrize(("trusted", "status"), [("0", 301), ("1", 200)])
def test_gunicorn_takes_x_forwarded_proto_only_when_trusted(
    production_environment, processes, tmp_path, trusted, status
):
    """A same-host proxy that passes a client's X-Forwarded-Proto through must not make a
    plain-HTTP request count as HTTPS (signatures are checked on that scheme, redirects
    built with it) unless TRUST_X_FORWARDED_PROTO says the proxy sets it itself."""
    env = {
        **production_environment,
        # Django's HTTPS redirect shows the scheme it saw; no collected files needed.
        "DEBUG": "1",
        "HTTPS_ONLY": "1",
        "TRUST_X_FORWARDED_PROTO": trusted,
    }
    base = start_web_server(processes, env, tmp_path)

    response = requests.get(
        f"{base}/login/",
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == status


def test_connections_the_database_dropped_fail_no_request(
    production_environment, processes, tmp_path
):
    """A database restart drops every kept connection; each thread checks its connection
    before reusing it (CONN_HEALTH_CHECKS, on by default) and reconnects, so no request
    fails, where each thread's next request would fail otherwise."""
    env = {**production_environment, "DEBUG": "1", "GUNICORN_THREADS": "4"}
    base = start_web_server(processes, env, tmp_path)

    def health_checks() -> list[int]:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = pool.map(lambda _: requests.get(f"{base}/healthz", timeout=10), range(16))
            return [answer.status_code for answer in answers]

    assert health_checks() == [200] * 16  # every thread holds a connection now
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (dropped,) = cursor.fetchone()

    assert dropped >= 1
    assert health_checks() == [200] * 16


def test_metrics_from_two_processes_add_up_to_the_requests_sent(
    production_environment, processes, tmp_path
):
    """Each gunicorn process counts in its own file (PROMETHEUS_MULTIPROC_DIR); any process
    answering a scrape reports the sum of all."""
    counts = tmp_path / "metrics"
    counts.mkdir()
    env = {
        **production_environment,
        "DEBUG": "1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "METRICS_TOKEN": "scrape-secret-0123456789abcdef",
        "PROMETHEUS_MULTIPROC_DIR": str(counts),
    }
    base = start_web_server(processes, env, tmp_path)
    status_url = f"{base}/twilio/status/"
    now = format_datetime(timezone.now())

    def send(_: int) -> int:
        form = child_callback(CallSid="CA" + secrets.token_hex(16), Timestamp=now)
        return post_signed_over_http(status_url, form).status_code

    def forge(_: int) -> int:
        form = child_callback(CallSid="CA" + secrets.token_hex(16), Timestamp=now)
        return requests.post(status_url, data=form, timeout=10).status_code

    def processes_counting() -> int:
        return len({path.stem.rsplit("_", 1)[-1] for path in counts.glob("counter_*.db")})

    # Each process opens its counts file as it boots; the second may boot after the first
    # answers.
    wait_until(
        lambda: processes_counting() == 2,
        seconds=20,
        what="both processes booted",
        logs=[tmp_path / "gunicorn.log"],
    )
    with ThreadPoolExecutor(max_workers=6) as pool:
        answered = list(pool.map(send, range(30))) + list(pool.map(forge, range(10)))
    assert answered == [204] * 30 + [403] * 10

    bearer = {"Authorization": f"Bearer {env['METRICS_TOKEN']}"}
    for _ in range(4):  # whichever process answers
        scrape = requests.get(f"{base}/metrics", headers=bearer, timeout=10)
        assert scrape.status_code == 200
        assert 'voice_webhook_requests_total{endpoint="status",status="204"} 30.0' in scrape.text
        assert 'voice_webhook_requests_total{endpoint="status",status="403"} 10.0' in scrape.text
        assert 'voice_webhook_duration_seconds_count{endpoint="status"} 40.0' in scrape.text
        assert "voice_callback_lag_seconds_count 30.0" in scrape.text
    assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
