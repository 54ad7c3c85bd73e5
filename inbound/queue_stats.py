"""Each queue's figures over a period, and each agent's occupancy: the statistics page's and
API's queue section.

Counted from the queue's own bookkeeping (QueueCaller), by the time callers arrived: a
caller is offered to the queue once, however many agents her offers rang.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Subquery, Sum
from django.utils import timezone

from agents.constants import Availability
from agents.models import Agent, PresenceChange
from calls.models import Call, FamilyDisposition
from inbound.models import CallerOutcome, Queue, QueueCaller, WrapUp


@dataclass(frozen=True)
class QueueStats:
    """One queue's callers who arrived in the period."""

    name: str
    offered: int  # callers who entered the queue
    answered: int
    abandoned: int  # hung up while waiting
    abandoned_within_target: int  # ... within SERVICE_LEVEL_SECONDS: short abandons
    timed_out: int  # waited the maximum wait, then the queue's policy
    waiting: int  # still waiting
    answered_within_target: int
    median_wait_seconds: float | None  # of the callers answered
    p90_wait_seconds: int | None  # nine in ten answered callers waited at most this long
    median_abandon_seconds: float | None  # how long the callers who hung up waited
    service_level_seconds: int
    dispositions: dict[str, int]  # callers whose call was given a disposition, by its name

    @property
    def service_level(self) -> float | None:
        """Answered within the target, out of the callers whose wait ended."""
        ended = self.offered - self.waiting
        return self.answered_within_target / ended if ended else None


@dataclass(frozen=True)
class AgentOccupancy:
    """How much of her available time an agent spent talking or wrapping up."""

    identity: str
    available_seconds: int
    talk_seconds: int
    wrap_up_seconds: int

    @property
    def occupancy(self) -> float | None:
        busy = self.talk_seconds + self.wrap_up_seconds
        return busy / self.available_seconds if self.available_seconds else None


def period_bounds(*, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The period's start and end in the current time zone, as the call statistics count."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first_day, time.min), zone)
    end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min), zone)
    return start, end


def queue_stats(*, start: datetime, end: datetime) -> list[QueueStats]:
    """Every queue's figures for the callers who arrived from start to end."""
    target = settings.SERVICE_LEVEL_SECONDS
    callers: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    rows = QueueCaller.objects.filter(arrived_at__gte=start, arrived_at__lt=end).values_list(
        "queue_id", "outcome", "wait_seconds"
    )
    for queue_id, outcome, wait in rows:
        callers[queue_id].append((outcome, wait))
    dispositions = _dispositions(start=start, end=end)
    return [
        _queue_figures(
            queue.name,
            callers.get(queue.pk, []),
            target=target,
            dispositions=dispositions.get(queue.pk, {}),
        )
        for queue in Queue.objects.order_by("name")
    ]


def _dispositions(*, start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """Queue id → disposition name → callers (arrived from start to end) whose call, the
    family of their leg, was given it."""
    disposition = FamilyDisposition.objects.filter(
        call__sid=OuterRef("call_sid"), disposition__isnull=False
    ).values("disposition__name")[:1]
    rows = (
        QueueCaller.objects.filter(arrived_at__gte=start, arrived_at__lt=end)
        .annotate(disposition=Subquery(disposition))
        .filter(disposition__isnull=False)
        .values("queue_id", "disposition")
        .annotate(callers=Count("id"))
        .values_list("queue_id", "disposition", "callers")
    )
    counted: dict[int, dict[str, int]] = defaultdict(dict)
    for queue_id, name, count in rows:
        counted[queue_id][name] = count
    return counted


def _queue_figures(
    name: str,
    callers: list[tuple[str, int | None]],
    *,
    target: int,
    dispositions: dict[str, int],
) -> QueueStats:
    def waits(outcome: CallerOutcome) -> list[int]:
        return sorted(wait for kind, wait in callers if kind == outcome and wait is not None)

    def counted(outcome: CallerOutcome) -> int:
        return sum(1 for kind, _ in callers if kind == outcome)

    answered, abandoned = waits(CallerOutcome.ANSWERED), waits(CallerOutcome.ABANDONED)
    return QueueStats(
        name=name,
        offered=len(callers),
        answered=counted(CallerOutcome.ANSWERED),
        abandoned=counted(CallerOutcome.ABANDONED),
        abandoned_within_target=sum(1 for wait in abandoned if wait <= target),
        timed_out=counted(CallerOutcome.TIMED_OUT),
        waiting=counted(CallerOutcome.WAITING),
        answered_within_target=sum(1 for wait in answered if wait <= target),
        median_wait_seconds=median(answered) if answered else None,
        p90_wait_seconds=nearest_rank(answered, 0.9),
        median_abandon_seconds=median(abandoned) if abandoned else None,
        service_level_seconds=target,
        dispositions=dispositions,
    )


def nearest_rank(in_order: list[int], share: float) -> int | None:
    """The smallest value that `share` of the values are at most (nearest-rank percentile)."""
    if not in_order:
        return None
    return in_order[max(0, math.ceil(share * len(in_order)) - 1)]


def agent_occupancy(
    *, start: datetime, end: datetime, now: datetime, only_agent_id: int | None = None
) -> list[AgentOccupancy]:
    """Each agent's talk and wrap-up over her time available from start to end (or now).

    Talk counts the agent's legs that started in the period (calls she placed too, so it
    can pass her time available), wrap-up the wrap-ups that started in it; time available
    comes from the history of her availability, from her creation at the earliest.
    """
    end = min(end, now)
    agents = Agent.objects.order_by("identity")
    if only_agent_id is not None:
        agents = agents.filter(pk=only_agent_id)
    talk = dict(
        Call.objects.filter(
            agent__in=agents, start_time__gte=start, start_time__lt=end, duration__isnull=False
        )
        .values("agent_id")
        .annotate(seconds=Sum("duration"))
        .values_list("agent_id", "seconds")
    )
    wrap_up_length = ExpressionWrapper(F("ends_at") - F("started_at"), output_field=DurationField())
    wrap_ups = dict(
        WrapUp.objects.filter(agent__in=agents, started_at__gte=start, started_at__lt=end)
        .values("agent_id")
        .annotate(length=Sum(wrap_up_length))
        .values_list("agent_id", "length")
    )
    available = _available_seconds(agents=list(agents), start=start, end=end)
    figures = [
        AgentOccupancy(
            identity=agent.identity,
            available_seconds=available.get(agent.pk, 0),
            talk_seconds=talk.get(agent.pk) or 0,
            wrap_up_seconds=round(wrap_ups[agent.pk].total_seconds())
            if agent.pk in wrap_ups
            else 0,
        )
        for agent in agents
    ]
    return [row for row in figures if row.available_seconds or row.talk_seconds]


def _available_seconds(*, agents: list[Agent], start: datetime, end: datetime) -> dict[int, int]:
    """Seconds each agent was available from start to end, from her changes of availability:
    before her first change in the period she was what that change changed from."""
    changes: dict[int, list[PresenceChange]] = defaultdict(list)
    for change in PresenceChange.objects.filter(agent__in=agents, changed_at__lt=end).order_by(
        "agent_id", "changed_at", "id"
    ):
        changes[change.agent_id].append(change)
    seconds = {}
    for agent in agents:
        history = changes.get(agent.pk, [])
        before = [change for change in history if change.changed_at <= start]
        during = [change for change in history if change.changed_at > start]
        if before:
            state = before[-1].to_availability
        elif during:
            state = during[0].from_availability
        else:
            state = agent.availability
        total, since = 0.0, max(start, agent.created_at)
        for change in during:
            if state == Availability.AVAILABLE:
                total += (change.changed_at - since).total_seconds()
            state, since = change.to_availability, change.changed_at
        if state == Availability.AVAILABLE and end > since:
            total += (end - since).total_seconds()
        seconds[agent.pk] = round(total)
    return seconds
