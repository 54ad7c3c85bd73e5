"""Heartbeats in Redis that say a Celery worker and beat are running, for /readyz to read.

A worker writes its own every WORKER_HEARTBEAT_INTERVAL seconds from its event loop, so a
worker that stopped or hangs falls silent. Beat schedules a task that writes the beat's:
it proves beat sent something and a worker ran it. Keys carry the queue's name, since two
deployments sharing one Redis database use different queues. Nothing here imports Django.
"""

import functools
import logging
import time
from typing import Any

import redis
from celery import Celery, bootsteps

logger = logging.getLogger(__name__)

WORKER = "worker"
BEAT = "beat"
WORKER_HEARTBEAT_INTERVAL = 15.0
BEAT_HEARTBEAT_INTERVAL = 30.0
# A heartbeat outlives any silence readiness would still call healthy; then it expires.
HEARTBEAT_TTL = 10 * 60
# Readiness asks Redis on the request path: a load balancer's check must not hang on it.
REDIS_TIMEOUT = 0.5


@functools.lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """A client for url that gives up after REDIS_TIMEOUT seconds, kept per URL."""
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )


def heartbeat_key(app: Celery, part: str) -> str:
    return f"voice:heartbeat:{app.conf.task_default_queue}:{part}"


def heartbeat_write(app: Celery, part: str, *, at: float | None = None) -> None:
    """Record that part (WORKER or BEAT) was alive at `at` (now by default)."""
    client = redis_client(app.conf.broker_url)
    client.set(heartbeat_key(app, part), repr(time.time() if at is None else at), ex=HEARTBEAT_TTL)


def heartbeats_read(app: Celery, parts: list[str]) -> list[float | None]:
    """When each part was last alive; None for never (or long ago). Raises RedisError."""
    client = redis_client(app.conf.broker_url)
    values = client.mget([heartbeat_key(app, part) for part in parts])
    return [float(value) if value else None for value in values]


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A consumer bootstep writing the worker's heartbeat on the consumer's own timer."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self.timer_entry: Any = None
        super().__init__(parent, **kwargs)

    def start(self, parent: Any) -> None:
        app = parent.app
        _worker_heartbeat(app)
        self.timer_entry = parent.timer.call_repeatedly(
            WORKER_HEARTBEAT_INTERVAL, _worker_heartbeat, (app,)
        )

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            parent.timer.cancel(self.timer_entry)
            self.timer_entry = None

    shutdown = stop


def _worker_heartbeat(app: Celery) -> None:
    try:
        heartbeat_write(app, WORKER)
    except redis.RedisError as error:
        # The broker is the same Redis: the worker reports its own trouble reaching it.
        logger.warning("Could not write the worker's heartbeat: %s", error)
