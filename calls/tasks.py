"""Celery tasks: thin wrappers that run reconciliation, retention and the statistics' rollup
(beat schedules all but reconcile_call).

Temporary Twilio errors are retried inside the REST client; a run that still fails is
recorded and left for the next scheduled run rather than retried here, so a Twilio outage
never turns into a retry storm.
"""

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, current_app, shared_task
from django.core.cache import cache
from django.utils import timezone

from calls.log import rollup
from calls.models import ReconcileRun
from calls.reconcile import runs as reconcile
from calls.recordings import retention

logger = logging.getLogger(__name__)


@shared_task
def reconcile_recent_calls() -> int | None:
    return _scheduled_run(reconcile.reconcile_recent_calls)


@shared_task
def reconcile_stale_calls() -> int | None:
    return _scheduled_run(reconcile.reconcile_stale_calls)


def _scheduled_run(service: Callable[[], ReconcileRun]) -> int | None:
    """Run the service and return its run's id; None when skipped because another runs."""
    try:
        return int(service().pk)
    except reconcile.ReconcileAlreadyRunning:
        # The schedule brings the next chance soon; queueing this one would only pile up.
        logger.info("Skipped %s: another reconciliation is running.", service.__name__)
        return None


@shared_task
def reconcile_recent_recordings() -> int | None:
    return _scheduled_run(reconcile.reconcile_recent_recordings)


@shared_task
def recordings_delete_expired() -> dict[str, int]:
    """Retention; what failed is noted on each recording and tried again next run."""
    outcome = retention.recordings_delete_expired(now=timezone.now())
    return {"deleted": outcome.deleted, "failed": outcome.failed}


@shared_task
def call_stats_rollup() -> dict[str, int]:
    """The statistics' newly settled days, and the days changes marked since."""
    outcome = rollup.call_stats_rollup()
    return {"days_rolled_up": outcome.days_rolled_up, "marks_cleared": outcome.marks_cleared}


# How long a call asked about stays marked as queued when no worker takes its task; then it
# may be queued again.
RECONCILE_CALL_QUEUED_SECONDS = 60 * 60


def _queued_key(sid: str) -> str:
    return f"calls:reconcile-call-queued:{sid}"


def reconcile_call_enqueue(*, sid: str) -> bool:
    """Queue a reconcile of this call unless one is already waiting; tell whether it was.

    The mark lives in the shared cache (Redis in production), so every web worker sees it.
    """
    if not cache.add(_queued_key(sid), 1, timeout=RECONCILE_CALL_QUEUED_SECONDS):
        return False
    try:
        reconcile_call.delay(sid)
    except Exception:
        cache.delete(_queued_key(sid))  # nothing was queued: let the next request try
        raise
    return True


@shared_task(bind=True, max_retries=10)
def reconcile_call(self: Task[Any, Any], sid: str) -> int:
    # Taken off the queue: a new request may queue the call again.
    cache.delete(_queued_key(sid))
    try:
        return reconcile.reconcile_call(sid=sid).pk
    except reconcile.ReconcileAlreadyRunning as error:
        # Asked for by a person, so it waits its turn instead of being skipped.
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 600)) from None


def runs_on_a_worker() -> bool:
    """Whether .delay() queues to a worker, or (no broker configured) runs in this process."""
    return not current_app.conf.task_always_eager
