"""The call log's statistics over a set of families: volumes per day and hour by kind, the
team's service level and abandon rate, and each agent's answer rate. charts.py draws them.

Every figure counts families (calls as the caller knows them), never legs: a ring-all call
offered to five agents is one call, answered by one of them and not missed by the others.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from calls.access import User, call_log_agent_id, call_log_sees_everything, stats_agent_limited_to
from calls.constants import FamilyKind
from calls.log.filters import CallFamilyFilter
from calls.log.handling import AgentHandling, handling_by_agent
from calls.log.rollup import families_started_on, rollup_parts
from calls.log.stats_parts import StatsParts, Volume, histogram_median, stats_parts_live
from calls.models import Call
from inbound.queue_stats import (
    AgentOccupancy,
    QueueStats,
    agent_occupancy,
    period_bounds,
    queue_stats,
)
from voiceproject.twilio_ids import TWILIO_EPOCH

# The statistics cover the last 30 days (today included) unless a date range is given, and
# at most STATS_MAX_DAYS (a longer range keeps its last days), a bar per day.
STATS_DEFAULT_DAYS = 30
STATS_MAX_DAYS = 366
# Dates outside these count as not given: no call is older than Twilio.
STATS_EARLIEST_DAY = TWILIO_EPOCH.date()
STATS_LATEST_DAY = date(8999, 12, 31)


def stats_period(query: QueryDict) -> tuple[QueryDict, date, date]:
    """The filters asked for with the period the statistics cover, and its first and last
    days. A date that is not one is left as given, for the filters to refuse."""
    data = query.copy()
    given_first, given_last = data.get("started_after"), data.get("started_before")
    last_day = _stats_day(given_last) or timezone.localdate()
    first_day = _stats_day(given_first) or last_day - timedelta(days=STATS_DEFAULT_DAYS - 1)
    first_day = max(first_day, last_day - timedelta(days=STATS_MAX_DAYS - 1))
    for name, given, day in [
        ("started_after", given_first, first_day),
        ("started_before", given_last, last_day),
    ]:
        if not given or _is_a_date(given):
            data[name] = day.isoformat()
    return data, first_day, last_day


def _is_a_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _stats_day(value: str | None) -> date | None:
    if not value or not _is_a_date(value):
        return None
    day = date.fromisoformat(value)
    return day if STATS_EARLIEST_DAY <= day <= STATS_LATEST_DAY else None


@dataclass(frozen=True)
class AgentStats:
    """One agent's inbound calls over the period; calls still in progress are left out."""

    identity: str
    offered: int  # inbound calls that rang her
    answered: int  # ... that she answered
    answered_by_colleague: int  # ... that a colleague answered first: not a miss of hers
    missed: int  # ... that nobody answered
    median_answer_seconds: float | None
    talk_seconds: int  # on the calls she answered

    @property
    def answer_rate(self) -> float | None:
        """Answered by her out of the calls she could have answered."""
        could_answer = self.offered - self.answered_by_colleague
        return self.answered / could_answer if could_answer else None

    @property
    def average_talk_seconds(self) -> float | None:
        return self.talk_seconds / self.answered if self.answered else None


@dataclass(frozen=True)
class TeamStats:
    """Inbound calls that ended in the period."""

    inbound: int
    answered: int
    answered_within_target: int
    abandoned: int  # ended with nobody answering and no voicemail
    service_level_seconds: int

    @property
    def service_level(self) -> float | None:
        return self.answered_within_target / self.inbound if self.inbound else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.inbound if self.inbound else None


@dataclass(frozen=True)
class CallStats:
    per_day: dict[date, dict[str, int]]  # day -> kind -> calls
    per_hour: dict[int, dict[str, int]]  # hour of day, 0-23 -> kind -> calls
    kinds: list[str]
    team: TeamStats
    agents: list[AgentStats]
    handling: list[AgentHandling]


def call_stats(
    families: QuerySet[Call],
    *,
    first_day: date,
    last_day: date,
    only_agent_id: int | None = None,
    every_family: bool = False,
) -> CallStats:
    """Statistics of these families (parent legs), first_day to last_day. With
    `only_agent_id`, the agents' figures are that agent's alone: an agent never sees
    colleagues' figures.

    `every_family` says that the families are every one of the period, nothing else
    filtered: then the daily rollup stands in for the settled days it holds, if the figures
    are counted in TIME_ZONE (the rollup's zone), and only the other days are counted live.
    """
    if not every_family or timezone.get_current_timezone_name() != settings.TIME_ZONE:
        parts = stats_parts_live(families, only_agent_id=only_agent_id)
        return stats_figures(parts, first_day=first_day, last_day=last_day)
    rolled_up = rollup_parts(first_day=first_day, last_day=last_day)
    parts = rolled_up.parts
    if rolled_up.days_left:
        live = families_started_on(families, rolled_up.days_left)
        parts += stats_parts_live(live, only_agent_id=only_agent_id)
    return stats_figures(parts, first_day=first_day, last_day=last_day)


def stats_cover_every_family(user: User, filters: CallFamilyFilter) -> bool:
    """Whether the statistics the user asked for count every family of their period: the
    user sees every family and filtered by nothing but the period."""
    return call_log_sees_everything(user) and filters.filters_only_by_period


def call_stats_for(
    user: User, filters: CallFamilyFilter, *, first_day: date, last_day: date
) -> CallStats:
    """The statistics of the user's filtered families, as she may see them: only her own
    agent's figures unless she holds `calls.view_call`, and the daily rollup only where
    it counts exactly these families. The page and the API both ask here."""
    only_agent_id = stats_agent_limited_to(user)
    stats = call_stats(
        filters.qs,
        first_day=first_day,
        last_day=last_day,
        only_agent_id=only_agent_id,
        every_family=stats_cover_every_family(user, filters),
    )
    return replace(stats, handling=handling_by_agent(filters.qs, only_agent_id=only_agent_id))


def stats_figures(parts: StatsParts, *, first_day: date, last_day: date) -> CallStats:
    """The figures of a period from the sum of its parts: the one place they are worked out.

    The days charted are those asked for, first_day to last_day, never the span of the data:
    one call with an absurd start time must not make a chart of every day since.
    """
    per_day: dict[date, dict[str, int]] = {}
    for (day, kind), calls in parts.days.items():
        per_day.setdefault(day, {})[kind] = calls
    per_hour: dict[int, dict[str, int]] = {hour: {} for hour in range(24)}
    team = Volume()
    for (hour, kind), volume in parts.hours.items():
        per_hour[hour][kind] = volume.calls
        team += volume
    kinds = {kind for counts in per_day.values() for kind in counts}
    if per_day:
        days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
        per_day = {day: per_day.get(day, {}) for day in days}
    known = [kind for kind in FamilyKind.values if kind in kinds]
    agents = [
        AgentStats(
            identity=parts.identities[agent_id],
            offered=counts.offered,
            answered=counts.answered,
            answered_by_colleague=counts.answered_by_colleague,
            missed=counts.missed,
            median_answer_seconds=histogram_median(counts.answer_waits),
            talk_seconds=counts.talk_seconds,
        )
        for agent_id, counts in parts.agents.items()
        if counts.offered
    ]
    return CallStats(
        per_day=per_day,
        per_hour=per_hour,
        kinds=known + sorted(kinds.difference(known)),
        team=TeamStats(
            inbound=team.inbound,
            answered=team.answered,
            answered_within_target=team.answered_within_target,
            abandoned=team.abandoned,
            service_level_seconds=settings.SERVICE_LEVEL_SECONDS,
        ),
        agents=sorted(agents, key=lambda agent: agent.identity),
        handling=[],
    )


@dataclass(frozen=True)
class QueueFigures:
    queues: list[QueueStats]
    occupancy: list[AgentOccupancy]


def queue_figures_for(user: User, *, first_day: date, last_day: date) -> QueueFigures:
    """Each queue's figures, for those who see every call, and agents' occupancy: an agent
    sees only her own. The page and the API both ask here."""
    start, end = period_bounds(first_day=first_day, last_day=last_day)
    now = timezone.now()
    if call_log_sees_everything(user):
        return QueueFigures(
            queues=queue_stats(start=start, end=end),
            occupancy=agent_occupancy(start=start, end=end, now=now),
        )
    agent_id = call_log_agent_id(user)
    if agent_id is None:
        return QueueFigures(queues=[], occupancy=[])
    return QueueFigures(
        queues=[], occupancy=agent_occupancy(start=start, end=end, now=now, only_agent_id=agent_id)
    )
