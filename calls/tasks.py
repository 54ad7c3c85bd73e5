"""Celery tasks: thin wrappers that run reconciliation, retention, the statistics' rollup and
the call quality sweep (beat schedules all but reconcile_call), and the queueing of
single-call runs.

Temporary Twilio errors are retried inside the REST client; a run that still fails is
recorded and left for the next scheduled run rather than retried here, so a Twilio outage
never turns into a retry storm.
"""

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from celery import Task, current_app, shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from calls.hub import moving, reactions
from calls.hub.twiml import HubUrls
from calls.log import rollup
from calls.models import ReconcileRequest, ReconcileRun
from calls.quality import fetching as quality
from calls.reconcile import conferences, requests
from calls.reconcile import runs as reconcile
from calls.reconcile.selectors import scheduled_interval
from calls.recordings import retention

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def reconcile_recent_calls(self: Task[Any, Any]) -> int | None:
    return _scheduled_run(self, reconcile.reconcile_recent_calls, ReconcileRun.Kind.RECENT)


@shared_task(bind=True)
def reconcile_stale_calls(self: Task[Any, Any]) -> int | None:
    return _scheduled_run(self, reconcile.reconcile_stale_calls, ReconcileRun.Kind.STALE)


@shared_task(bind=True)
def reconcile_recent_recordings(self: Task[Any, Any]) -> int | None:
    return _scheduled_run(self, reconcile.reconcile_recent_recordings, ReconcileRun.Kind.RECORDINGS)


def _scheduled_run(
    task: Task[Any, Any], service: Callable[[], ReconcileRun], kind: str
) -> int | None:
    """Run the service and return its run's id; None when its previous run still goes on.

    A run skipped for that is tried again every RECONCILE_SKIPPED_RETRY seconds until the
    next scheduled one is due, so one long run delays the next by seconds, not an interval.
    """
    try:
        return int(service().pk)
    except reconcile.ReconcileAlreadyRunning:
        delay = settings.RECONCILE_SKIPPED_RETRY
        retries_left = scheduled_interval(kind) // delay - 1 - task.request.retries
        if task.request.is_eager or task.request.called_directly or retries_left <= 0:
            logger.warning("Skipped %s: its previous run is still going.", task.name)
            return None
        logger.info("%s waits for its previous run; trying again in %d s.", task.name, delay)
        raise task.retry(countdown=delay, max_retries=None) from None


@shared_task(ignore_result=True)
def reconcile_open_conferences() -> dict[str, int]:
    """Conferences open here that Twilio may have ended without a word (beat)."""
    check = conferences.reconcile_open_conferences()
    return {"asked": check.asked, "closed": check.closed, "failed": check.failed}


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


@shared_task(ignore_result=True)
def call_quality_sweep() -> dict[str, int]:
    """Finished legs' Voice Insights summaries; a leg that failed is asked again later."""
    outcome = quality.call_quality_sweep(now=timezone.now())
    return {"fetched": outcome.fetched, "failed": outcome.failed, "refused": outcome.refused}


def reconcile_calls_request(*, sids: list[str]) -> tuple[int, int]:
    """Request a single-call run of each call not already waiting and queue what can be.

    Returns (requested, queued): the requests left unqueued because the broker is
    unreachable are queued by reconcile_requests_send once it answers.
    """
    added = requests.reconcile_requests_add(sids=sids)
    return len(added), _send(added)


@shared_task(ignore_result=True)
def reconcile_requests_send() -> int:
    """Queue the requests left waiting by a broker outage, or lost by the broker (beat)."""
    return _send(list(requests.reconcile_requests_to_send(now=timezone.now())))


def _send(waiting: list[ReconcileRequest]) -> int:
    """Hand each request's task to the broker, stopping at the first that cannot be.

    One connection for them all, tried once: kombu would otherwise retry for seconds, and a
    web request must not hang on an outage. What is left waits for reconcile_requests_send.
    """
    sent = 0
    with current_app.connection_for_write() as connection:
        producer = current_app.amqp.Producer(connection, auto_declare=False)
        try:
            if runs_on_a_worker():
                connection.ensure_connection(max_retries=0)
            for request in waiting:
                reconcile_call.apply_async((request.call_sid,), producer=producer, retry=False)
                requests.reconcile_request_sent(request=request, now=timezone.now())
                sent += 1
        except OperationalError as error:
            logger.warning(
                "Broker unreachable; %d reconcile request(s) wait: %s", len(waiting) - sent, error
            )
    return sent


# A result nobody reads: nothing is sent to the result backend, which would fail (and
# retry for seconds) when Redis is unreachable.
@shared_task(bind=True, max_retries=10, ignore_result=True)
def reconcile_call(self: Task[Any, Any], sid: str) -> None:
    try:
        reconcile.reconcile_call(sid=sid)
    except reconcile.ReconcileAlreadyRunning as error:
        # Asked for by a person, so it waits its turn; its request waits with it.
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 600)) from None
    except Exception:
        requests.reconcile_request_done(sid=sid)  # its run is recorded as failed
        raise
    requests.reconcile_request_done(sid=sid)


def runs_on_a_worker() -> bool:
    """Whether .delay() queues to a worker, or (no broker configured) runs in this process."""
    return not current_app.conf.task_always_eager


@shared_task(ignore_result=True)
def hub_move_answered_leg(leg_sid: str, family_sid: str, urls: dict[str, str]) -> bool:
    return moving.hub_move_answered_leg(
        leg_sid=leg_sid, family_sid=family_sid, urls=HubUrls(**urls)
    )


def hub_move_answered_leg_soon(*, leg_sid: str, family_sid: str, urls: HubUrls) -> None:
    """Move the answered leg from a worker, so the status callback that saw the answer is
    not kept waiting on the REST API. With the broker unreachable the legs stay bridged: the
    call goes on without the hub."""
    hub_react_soon(hub_move_answered_leg, leg_sid, family_sid, asdict(urls))


@shared_task(ignore_result=True)
def hub_transfer_answered(participant_id: int) -> None:
    reactions.hub_transfer_answered(participant_id=participant_id)


@shared_task(ignore_result=True)
def hub_transfer_unanswered(participant_id: int, unanswered_url: str) -> None:
    reactions.hub_transfer_unanswered(participant_id=participant_id, unanswered_url=unanswered_url)


def hub_react_soon(task: Task[Any, Any], *args: object) -> None:
    """Run a hub reaction from a worker (in this process without a broker): the webhook that
    prompted it answers Twilio without waiting on the REST API."""
    try:
        task.apply_async(args, retry=False)
    except OperationalError as error:
        logger.warning("Broker unreachable; %s not run: %s", task.name, error)
