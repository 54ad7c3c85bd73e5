"""/readyz: whether this deployment can do all its work, for a load balancer or an
orchestrator deciding where to send traffic. /healthz stays the cheap liveness check.

Ready means the database answers, Redis (the Celery broker) answers, a worker wrote its
heartbeat within WORKER_MAX_SILENCE seconds and beat's scheduled heartbeat ran within
BEAT_MAX_SILENCE. Readiness only reads heartbeats (voiceproject/heartbeats.py): it never
pings a worker on the request path. Without a broker tasks run in-process, and that is ready.
"""

import logging
import time

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from voiceproject.celery import app as celery_app
from voiceproject.heartbeats import BEAT, BEAT_HEARTBEAT_INTERVAL, WORKER, heartbeats_read
from voiceproject.views import database_answers

logger = logging.getLogger(__name__)

WORKER_MAX_SILENCE = 60.0
# Beat's heartbeat may wait for a worker busy with a long task: three runs missed is not that.
BEAT_MAX_SILENCE = 3 * BEAT_HEARTBEAT_INTERVAL
IN_PROCESS = "not configured: no broker, tasks run in-process"


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when every part is ready, 503 naming each part that is not.

    Each part's answer names the kind of error only; the details go to the log.
    """
    parts = {"database": database_answers(), **_celery()}
    ready = all(ok for ok, _ in parts.values())
    if not ready:
        logger.error("Not ready: %s", {name: text for name, (ok, text) in parts.items() if not ok})
    return JsonResponse(
        {"status": "ok" if ready else "error", **{name: text for name, (_, text) in parts.items()}},
        status=200 if ready else 503,
    )


Part = tuple[bool, str]


def _celery() -> dict[str, Part]:
    if celery_app.conf.task_always_eager:
        return {
            "redis": (True, IN_PROCESS),
            "worker": (True, IN_PROCESS),
            "beat": (True, IN_PROCESS),
        }
    try:
        worker, beat = heartbeats_read(celery_app, [WORKER, BEAT])
    except redis.RedisError as error:
        logger.error("Readiness: Redis did not answer: %s", error)
        unknown = (False, "unknown: Redis did not answer")
        return {
            "redis": (False, f"unavailable ({type(error).__name__})"),
            "worker": unknown,
            "beat": unknown,
        }
    now = time.time()
    return {
        "redis": (True, "ok"),
        "worker": _heartbeat(worker, now, WORKER_MAX_SILENCE, "no worker"),
        "beat": _heartbeat(beat, now, BEAT_MAX_SILENCE, "no scheduled run by beat"),
    }


def _heartbeat(at: float | None, now: float, max_silence: float, missing: str) -> Part:
    if at is None:
        return False, f"{missing} in the last {max_silence:g} s"
    silence = max(0.0, now - at)
    if silence > max_silence:
        return False, f"{missing} for {silence:.0f} s (at most {max_silence:g} s)"
    return True, "ok"
