"""/readyz: ready only when the database, Redis, a Celery worker and beat all work, each
failing part named; asked the way load balancers ask."""

import re
import socket
import time
import uuid

import pytest

from tests.conftest import TEST_REDIS_URL
from voiceproject.celery import app as celery_app
from voiceproject.heartbeats import BEAT, WORKER, heartbeat_write
from voiceproject.tasks import readiness_beat_heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def celery_conf():
    """Change the Celery app's configuration for one test; put it back afterwards."""
    names = ["broker_url", "task_always_eager", "task_default_queue"]
    previous = {name: celery_app.conf[name] for name in names}

    def change(**values):
        celery_app.conf.update(values)

    yield change
    celery_app.conf.update(previous)


@pytest.fixture
def on_redis(celery_conf):
    """A broker on the test Redis with a queue of this test's own, so no heartbeat is shared."""
    celery_conf(
        broker_url=TEST_REDIS_URL,
        task_always_eager=False,
        task_default_queue=f"readyz-{uuid.uuid4().hex[:12]}",
    )


def heartbeats(*, worker_age: float = 0, beat_age: float = 0) -> None:
    """Heartbeats as a worker and beat left them that many seconds ago."""
    heartbeat_write(celery_app, WORKER, at=time.time() - worker_age)
    heartbeat_write(celery_app, BEAT, at=time.time() - beat_age)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_ready_once_a_worker_runs_and_beat_has_run_its_schedule(client, celery_on_redis):
    # The worker wrote its heartbeat as it started; beat sends this task on its schedule.
    readiness_beat_heartbeat.delay().get(timeout=10)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "worker": "ok",
        "beat": "ok",
    }


def test_not_ready_naming_redis_when_it_does_not_answer(client, celery_conf):
    celery_conf(broker_url=f"redis://127.0.0.1:{closed_port()}/0", task_always_eager=False)
    started = time.monotonic()

    response = client.get("/readyz")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["redis"] == "unavailable (ConnectionError)"


def test_not_ready_naming_the_worker_when_it_stopped(client, on_redis):
    heartbeats(worker_age=120)

    response = client.get("/readyz")

    assert response.status_code == 503
    # A second may pass between writing the heartbeat and reading it on a busy machine.
    assert re.fullmatch(r"no worker for 12[01] s \(at most 60 s\)", response.json()["worker"])
    assert response.json()["beat"] == "ok"


def test_not_ready_naming_beat_when_its_heartbeat_is_too_old(client, on_redis):
    heartbeats(beat_age=300)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["beat"] == "no scheduled run by beat for 300 s (at most 90 s)"
    assert response.json()["worker"] == "ok"


def test_not_ready_before_any_worker_or_beat_ran(client, on_redis):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["worker"] == "no worker in the last 60 s"
    assert response.json()["beat"] == "no scheduled run by beat in the last 90 s"


def test_head_answers_the_status_without_a_body(client, on_redis):
    heartbeats()
    assert (client.head("/readyz").status_code, client.head("/readyz").content) == (200, b"")

    heartbeats(worker_age=120)
    assert (client.head("/readyz").status_code, client.head("/readyz").content) == (503, b"")


def test_a_load_balancer_asking_by_ip_address_over_http_gets_the_answer(client, on_redis, settings):
    settings.ALLOWED_HOSTS = ["voice.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    heartbeats()

    response = client.get("/readyz", HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_without_a_broker_tasks_run_in_process_and_that_is_ready(client, celery_conf):
    celery_conf(broker_url="", task_always_eager=True)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["redis"] == "not configured: no broker, tasks run in-process"


def test_not_ready_naming_the_database_when_it_does_not_answer(client, database_down, on_redis):
    heartbeats()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable (OperationalError)"
