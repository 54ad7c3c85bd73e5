"""The call log's statistics over a set of families: volumes per day and hour by kind, the
team's service level and abandon rate, and each agent's answer rate. charts.py draws them.

Every figure counts families (calls as the caller knows them), never legs: a ring-all call
offered to five agents is one call, answered by one of them and not missed by the others.
"""

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import ExtractHour, TruncDate
from django.http import QueryDict
from django.utils import timezone

from calls.constants import CallStatus, DialResult, FamilyKind, FamilyOutcome
from calls.family_facts import outcome_condition
from calls.log.paging import planner_settings
from calls.models import Call
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


class Median(Aggregate):
    """PostgreSQL's median of an expression."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def _time_to_answer() -> ExpressionWrapper[CombinedExpression]:
    """From the moment the call reached us to the first answer, on a parent leg."""
    return ExpressionWrapper(F("child_answer_time") - F("start_time"), output_field=DurationField())


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


def call_stats(
    families: QuerySet[Call],
    *,
    first_day: date,
    last_day: date,
    only_agent_id: int | None = None,
) -> CallStats:
    """Statistics of these families (parent legs), in two queries: one pass over the
    families for the volumes and the team, one over the legs that rang agents. With
    `only_agent_id`, the agents' figures are that agent's alone: an agent never sees
    colleagues' figures.

    The days charted are those asked for, first_day to last_day, never the span of the data:
    one call with an absurd start time must not make a chart of every day since.
    """
    families = families.filter(start_time__isnull=False).order_by()
    # A few large groupings: sorted in memory, and not worth compiling (JIT) each time.
    with planner_settings(jit="off", work_mem="64MB"):
        per_day, per_hour, kinds, team = _volumes_and_team(
            families, first_day=first_day, last_day=last_day
        )
        agents = _agents(families.filter(_ENDED_INBOUND), only_agent_id=only_agent_id)
    return CallStats(per_day=per_day, per_hour=per_hour, kinds=kinds, team=team, agents=agents)


_ENDED_INBOUND = Q(kind=FamilyKind.INBOUND) & ~outcome_condition(FamilyOutcome.IN_PROGRESS)


def _volumes_and_team(
    families: QuerySet[Call], *, first_day: date, last_day: date
) -> tuple[dict[date, dict[str, int]], dict[int, dict[str, int]], list[str], TeamStats]:
    """Calls per day and hour by kind, and the team's inbound figures, in one pass."""
    target = settings.SERVICE_LEVEL_SECONDS
    answered = _ENDED_INBOUND & Q(dial_result=DialResult.ANSWERED)
    rows = (
        families.annotate(day=TruncDate("start_time"), hour=ExtractHour("start_time"))
        .values("day", "hour", "kind")
        .annotate(
            calls=Count("id"),
            inbound=Count("id", filter=_ENDED_INBOUND),
            answered=Count("id", filter=answered),
            within=Count(
                "id",
                filter=answered
                & Q(child_answer_time__lte=F("start_time") + timedelta(seconds=target)),
            ),
            abandoned=Count(
                "id", filter=_ENDED_INBOUND & outcome_condition(FamilyOutcome.UNANSWERED)
            ),
        )
    )
    per_day: dict[date, dict[str, int]] = {}
    per_hour: dict[int, dict[str, int]] = {hour: {} for hour in range(24)}
    team = {"inbound": 0, "answered": 0, "within": 0, "abandoned": 0}
    for row in rows:
        day, hour, kind = row["day"], row["hour"], row["kind"]
        per_day.setdefault(day, {})[kind] = per_day.get(day, {}).get(kind, 0) + row["calls"]
        per_hour[hour][kind] = per_hour[hour].get(kind, 0) + row["calls"]
        for figure in team:
            team[figure] += row[figure]
    kinds = {kind for counts in per_day.values() for kind in counts}
    if per_day:
        days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
        per_day = {day: per_day.get(day, {}) for day in days}
    known = [kind for kind in FamilyKind.values if kind in kinds]
    return (
        per_day,
        per_hour,
        known + sorted(kinds.difference(known)),
        TeamStats(
            inbound=team["inbound"],
            answered=team["answered"],
            answered_within_target=team["within"],
            abandoned=team["abandoned"],
            service_level_seconds=target,
        ),
    )


def _agents(ended_inbound: QuerySet[Call], *, only_agent_id: int | None) -> list[AgentStats]:
    """Each agent's figures, from the calls' legs that rang her, in one join of the calls to
    their legs: a dial rings each of its agents once, so each such leg is one call she was
    offered."""
    rung = ended_inbound.filter(children__agent__isnull=False)
    if only_agent_id is not None:
        rung = rung.filter(children__agent_id=only_agent_id)
    by_her = Q(answered_by_id=F("children__agent_id"))
    by_colleague = Q(answered_by__isnull=False) & ~by_her
    nobody = ~Q(dial_result=DialResult.ANSWERED)
    talk = by_her & Q(children__status=CallStatus.COMPLETED)
    rows = (
        rung.values("children__agent_id", "children__agent__identity")
        .annotate(
            offered=Count("children__id"),
            answered=Count("children__id", filter=by_her),
            by_colleague=Count("children__id", filter=by_colleague),
            missed=Count("children__id", filter=nobody),
            talk=Sum("children__duration", filter=talk, default=0),
        )
        .order_by("children__agent__identity")
    )
    medians = _median_answer_seconds(ended_inbound)
    return [
        AgentStats(
            identity=row["children__agent__identity"],
            offered=row["offered"],
            answered=row["answered"],
            answered_by_colleague=row["by_colleague"],
            missed=row["missed"],
            median_answer_seconds=medians.get(row["children__agent_id"]),
            talk_seconds=row["talk"],
        )
        for row in rows
    ]


def _median_answer_seconds(ended_inbound: QuerySet[Call]) -> dict[int, float]:
    """Each agent's median time to answer the calls she answered, by agent id.

    PostgreSQL computes medians itself; elsewhere (SQLite, the demo) they are computed here.
    """
    answered = ended_inbound.filter(answered_by__isnull=False, child_answer_time__isnull=False)
    if connection.vendor == "postgresql":
        rows = answered.values("answered_by_id").annotate(median=Median(_time_to_answer()))
        return {row["answered_by_id"]: row["median"].total_seconds() for row in rows}
    waits: dict[int, list[float]] = {}
    pairs = answered.values_list("answered_by_id", "start_time", "child_answer_time")
    for agent_id, start_time, answer_time in pairs:
        if start_time is None or answer_time is None:
            continue
        waits.setdefault(agent_id, []).append((answer_time - start_time).total_seconds())
    return {agent_id: statistics.median(seconds) for agent_id, seconds in waits.items()}
