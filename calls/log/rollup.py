"""The statistics' daily rollup: each settled day's parts (calls.log.stats_parts) counted once
and kept, so that a long period reads a few small rows a day, and only the days that are not
settled are counted from the call table.

A day is settled once it has been over for a day: today and yesterday never are. Its rollup
is read only while it is clean: a database trigger (migration 0011) marks the days of any leg
written, changed or deleted more than six hours after it started (StatsDirtyDay), in the
writer's own transaction, so a day is either read with the change counted live or from its
rollup as it was before the change; the next run of `call_stats_rollup` (Celery beat, or
`manage.py rollup_call_stats`) counts it again. The rollup is kept in TIME_ZONE, with the
service level target it was counted with: other zones and targets are counted live.
"""

import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone

from calls.log.stats_parts import (
    AGENT_COUNTS,
    VOLUME_COUNTS,
    AgentCounts,
    StatsParts,
    Volume,
    stats_parts_live,
)
from calls.models import (
    Call,
    StatsAgentDay,
    StatsAnswerWait,
    StatsDay,
    StatsDirtyDay,
    StatsHour,
)

# Days from a day's start until it is settled: today and yesterday are always counted live.
SETTLING_DAYS = 2
# How far back a run rolls up missing days: a year. Older days asked for are counted live.
ROLLUP_DAYS = 366
# Marks cleared by one DELETE: SQLite limits the parameters of a statement.
MARKS_PER_DELETE = 500
_DAY = timedelta(days=1)


def last_settled_day() -> date:
    """The latest settled day, in the current time zone."""
    return timezone.localdate() - SETTLING_DAYS * _DAY


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def families_started_on(families: QuerySet[Call], days: Iterable[date]) -> QuerySet[Call]:
    """These families narrowed to those that started on these local days: a range of start
    times for each run of consecutive days."""
    runs: list[list[date]] = []  # [first, last] of each run
    for day in sorted(set(days)):
        if runs and runs[-1][1] + _DAY == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    ranges = [
        Q(start_time__gte=_day_start(first), start_time__lt=_day_start(last + _DAY))
        for first, last in runs
    ]
    return families.filter(reduce(operator.or_, ranges)) if ranges else families.none()


def _local_days(utc_days: Iterable[date]) -> set[date]:
    """The local days (in the current time zone) that overlap these UTC days."""
    days: set[date] = set()
    for utc_day in utc_days:
        start = datetime.combine(utc_day, time.min, tzinfo=UTC)
        first = timezone.localdate(start)
        last = timezone.localdate(start + _DAY - timedelta(microseconds=1))
        days.update(first + n * _DAY for n in range((last - first).days + 1))
    return days


@dataclass(frozen=True)
class RolledUp:
    parts: StatsParts  # of the days rolled up
    days_left: list[date]  # the period's other days, to be counted live


def rollup_parts(*, first_day: date, last_day: date) -> RolledUp:
    """The rolled-up parts of the period's settled, clean days, and the days left to count
    live; the caller counts in TIME_ZONE, the zone the rollup is kept in."""
    rolled_up = dict(
        StatsDay.objects.filter(
            time_zone=settings.TIME_ZONE,
            service_level_seconds=settings.SERVICE_LEVEL_SECONDS,
            day__range=(first_day, min(last_day, last_settled_day())),
        ).values_list("id", "day")
    )
    if rolled_up:
        dirty = _local_days(StatsDirtyDay.objects.values_list("utc_day", flat=True).distinct())
        rolled_up = {day_id: day for day_id, day in rolled_up.items() if day not in dirty}
    period = (first_day + n * _DAY for n in range((last_day - first_day).days + 1))
    served = set(rolled_up.values())
    return RolledUp(
        parts=_read_parts(rolled_up) if rolled_up else StatsParts(),
        days_left=[day for day in period if day not in served],
    )


def _read_parts(days: dict[int, date]) -> StatsParts:
    """The parts kept for these rolled-up days (StatsDay id -> day), summed by the database
    in four queries: a few hundred rows whatever the length of the period."""
    rolled_up = {"stats_day_id__in": list(days)}
    volume_sums = {f"sum_{name}": Sum(name) for name in VOLUME_COUNTS}
    hours = {
        (hour, kind): Volume(*sums)
        for hour, kind, *sums in StatsHour.objects.filter(**rolled_up)
        .values("hour", "kind")
        .annotate(**volume_sums)
        .values_list("hour", "kind", *volume_sums)
    }
    calls_per_day = (
        StatsHour.objects.filter(**rolled_up)
        .values("stats_day_id", "kind")
        .annotate(sum_calls=Sum("calls"))
        .values_list("stats_day_id", "kind", "sum_calls")
    )
    agent_sums = {f"sum_{name}": Sum(name) for name in AGENT_COUNTS}
    agent_rows = (
        StatsAgentDay.objects.filter(**rolled_up)
        .values("agent_id", "agent__identity")
        .annotate(**agent_sums)
        .values_list("agent_id", "agent__identity", *agent_sums)
    )
    waits: dict[int, Counter[int]] = {}
    for agent_id, seconds, calls in (
        StatsAnswerWait.objects.filter(**rolled_up)
        .values("agent_id", "seconds")
        .annotate(sum_calls=Sum("calls"))
        .values_list("agent_id", "seconds", "sum_calls")
    ):
        waits.setdefault(agent_id, Counter())[seconds] = calls
    agents: dict[int, AgentCounts] = {}
    identities: dict[int, str] = {}
    for agent_id, identity, *sums in agent_rows:
        agents[agent_id] = replace(AgentCounts(*sums), answer_waits=waits.get(agent_id, Counter()))
        identities[agent_id] = identity
    return StatsParts(
        hours=hours,
        days={(days[day_id], kind): calls for day_id, kind, calls in calls_per_day},
        agents=agents,
        identities=identities,
    )


@dataclass(frozen=True)
class RollupOutcome:
    days_rolled_up: int
    marks_cleared: int


def call_stats_rollup(*, rebuild: bool = False) -> RollupOutcome:
    """Roll up the settled days of the last ROLLUP_DAYS that have no rollup (every one with
    `rebuild`) and every rolled-up day a change has marked, then clear the marks read: a
    change made meanwhile leaves a mark of its own for the next run.

    Days rolled up in another time zone or against another service level target are
    dropped: nothing reads them.
    """
    zone, target = settings.TIME_ZONE, settings.SERVICE_LEVEL_SECONDS
    with timezone.override(zone):
        marks = list(StatsDirtyDay.objects.values_list("id", "utc_day"))
        StatsDay.objects.exclude(time_zone=zone, service_level_seconds=target).delete()
        rolled_up = set(StatsDay.objects.values_list("day", flat=True))
        window = _rollup_window()
        dirty = _local_days(utc_day for _, utc_day in marks)
        days = (window if rebuild else window - rolled_up) | (dirty & rolled_up)
        for day in sorted(days):
            _roll_up_day(day, zone=zone, target=target)
        mark_ids = [mark_id for mark_id, _ in marks]
        for start in range(0, len(mark_ids), MARKS_PER_DELETE):
            batch = mark_ids[start : start + MARKS_PER_DELETE]
            StatsDirtyDay.objects.filter(id__in=batch).delete()
    return RollupOutcome(days_rolled_up=len(days), marks_cleared=len(marks))


def _rollup_window() -> set[date]:
    """The settled days of the last ROLLUP_DAYS, from the day of the first call on."""
    first_call = Call.objects.filter(parent__isnull=True).aggregate(first=Min("start_time"))
    if first_call["first"] is None:
        return set()
    last = last_settled_day()
    first = max(last - (ROLLUP_DAYS - 1) * _DAY, timezone.localdate(first_call["first"]))
    return {first + n * _DAY for n in range((last - first).days + 1)}


@transaction.atomic
def _roll_up_day(day: date, *, zone: str, target: int) -> None:
    """Count one day's parts and keep them in place of those kept before. The day's row is
    locked first, so that two runs rolling it up at once take turns."""
    stats_day, _ = StatsDay.objects.update_or_create(
        time_zone=zone,
        day=day,
        defaults={"service_level_seconds": target, "rolled_up_at": timezone.now()},
    )
    parts = stats_parts_live(families_started_on(Call.objects.filter(parent__isnull=True), [day]))
    for rows in (stats_day.volumes, stats_day.agent_counts, stats_day.answer_waits):
        rows.all().delete()
    StatsHour.objects.bulk_create(
        StatsHour(stats_day=stats_day, hour=hour, kind=kind, **asdict(volume))
        for (hour, kind), volume in parts.hours.items()
    )
    StatsAgentDay.objects.bulk_create(
        StatsAgentDay(
            stats_day=stats_day,
            agent_id=agent_id,
            **{name: getattr(counts, name) for name in AGENT_COUNTS},
        )
        for agent_id, counts in parts.agents.items()
    )
    StatsAnswerWait.objects.bulk_create(
        StatsAnswerWait(stats_day=stats_day, agent_id=agent_id, seconds=seconds, calls=calls)
        for agent_id, counts in parts.agents.items()
        for seconds, calls in counts.answer_waits.items()
    )
