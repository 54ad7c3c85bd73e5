"""Reads of reconciliation: which legs have gone silent, and which scheduled jobs are late."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest

from calls.constants import TERMINAL_STATUSES
from calls.models import Call, ReconcileRun

# A scheduled job that has not succeeded for this many of its intervals is reported late.
OVERDUE_INTERVALS = 3


def leg_last_heard_at(leg: Call) -> datetime:
    """When Twilio last told us about the leg: a callback or reconcile that changed its row,
    or the stale sweep's fetch that found it unchanged (read with select_related)."""
    check = getattr(leg, "stale_check", None)
    return max(leg.updated_at, check.checked_at) if check else leg.updated_at


def leg_is_silent(leg: Call, *, now: datetime) -> bool:
    """A leg not final that Twilio has told nothing about for RECONCILE_STALE_AFTER."""
    silent_since = now - timedelta(seconds=settings.RECONCILE_STALE_AFTER)
    return leg.status not in TERMINAL_STATUSES and leg_last_heard_at(leg) < silent_since


def silent_legs(*, now: datetime) -> QuerySet[Call]:
    """The legs leg_is_silent holds, those silent longest first."""
    silent_since = now - timedelta(seconds=settings.RECONCILE_STALE_AFTER)
    last_heard = Greatest("updated_at", Coalesce("stale_check__checked_at", "updated_at"))
    return (
        Call.objects.exclude(status__in=TERMINAL_STATUSES)
        .filter(updated_at__lt=silent_since)
        .filter(Q(stale_check__isnull=True) | Q(stale_check__checked_at__lt=silent_since))
        .order_by(last_heard, "id")
    )


def scheduled_interval(kind: str) -> int:
    """Seconds between the scheduled runs of this kind (the beat schedule in settings)."""
    intervals: dict[str, int] = {
        ReconcileRun.Kind.RECENT: settings.RECONCILE_INTERVAL,
        ReconcileRun.Kind.RECORDINGS: settings.RECONCILE_INTERVAL,
        ReconcileRun.Kind.STALE: settings.RECONCILE_STALE_INTERVAL,
    }
    return intervals[kind]


@dataclass(frozen=True)
class OverdueJob:
    kind: str
    interval: int  # seconds
    last_success: datetime | None  # when its last successful run finished

    def __str__(self) -> str:
        name = ReconcileRun.Kind(self.kind).label.capitalize()
        late = (
            f"has not completed since {self.last_success:%Y-%m-%d %H:%M} UTC"
            if self.last_success
            else "has never completed"
        )
        return (
            f"{name} reconciliation (every {self.interval} s) {late}: check that a Celery "
            "worker and beat run, and the errors of the failed runs."
        )


def reconcile_overdue_jobs(*, now: datetime) -> list[OverdueJob]:
    """The scheduled jobs with no successful run for OVERDUE_INTERVALS of their interval.

    Nothing is scheduled without a broker, so nothing is late then.
    """
    if not settings.CELERY_BROKER_URL:
        return []
    kinds = [ReconcileRun.Kind.RECENT, ReconcileRun.Kind.STALE, ReconcileRun.Kind.RECORDINGS]
    last_success = dict(
        ReconcileRun.objects.filter(kind__in=kinds, outcome=ReconcileRun.Outcome.SUCCEEDED)
        .values("kind")
        .annotate(last=Max("finished_at"))
        .values_list("kind", "last")
    )
    overdue = []
    for kind in kinds:
        interval = scheduled_interval(kind)
        last = last_success.get(kind)
        if last is None or last < now - timedelta(seconds=OVERDUE_INTERVALS * interval):
            overdue.append(OverdueJob(kind=kind, interval=interval, last_success=last))
    return overdue
