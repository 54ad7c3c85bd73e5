"""The statistics' parts: sums over a set of families that add up, whether counted live from
the call table (here) or read from the daily rollup (calls.log.rollup). calls.log.stats
turns their total into figures.

Volumes are kept per hour of the day and kind (with the team's inbound figures) and per local
day and kind; each agent's counts per agent, with a histogram of her waits to answer in whole
seconds. A median is not a sum, but the median of summed histograms is PostgreSQL's
PERCENTILE_CONT(0.5) over the waits themselves, exactly so for Twilio's times, which are
whole seconds.
"""

import math
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Self, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Extract, Floor, TruncHour

from calls.constants import CallStatus, DialResult, FamilyKind, FamilyOutcome
from calls.family_facts import outcome_condition
from calls.log.paging import planner_settings
from calls.models import Call


@dataclass(frozen=True)
class Volume:
    """The families of one kind that started in one hour of the day, and the team's inbound
    figures among them."""

    calls: int = 0
    inbound: int = 0  # inbound calls that ended
    answered: int = 0  # ... that an agent answered
    answered_within_target: int = 0  # ... within SERVICE_LEVEL_SECONDS
    abandoned: int = 0  # ... with nobody answering and no voicemail

    def __add__(self, other: Self) -> Self:
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


# The names of the counts, as the live queries and the rollup's columns name them too.
VOLUME_COUNTS = tuple(f.name for f in fields(Volume))


@dataclass(frozen=True)
class AgentCounts:
    """One agent's inbound calls that ended."""

    offered: int = 0  # that rang her
    answered: int = 0  # ... that she answered
    answered_by_colleague: int = 0  # ... that a colleague answered first
    missed: int = 0  # ... that nobody answered
    talk_seconds: int = 0  # on the calls she answered
    # Seconds from the call reaching us to her answer -> calls she answered after that wait.
    answer_waits: Counter[int] = field(default_factory=Counter)

    def __add__(self, other: Self) -> Self:
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


# ... and of an agent's, but for the histogram (rows of its own in the rollup).
AGENT_COUNTS = tuple(f.name for f in fields(AgentCounts) if f.name != "answer_waits")

_Sums = TypeVar("_Sums", Volume, AgentCounts, int)
_Key = TypeVar("_Key")


def _merged(first: dict[_Key, _Sums], second: dict[_Key, _Sums]) -> dict[_Key, _Sums]:
    merged = dict(first)
    for key, sums in second.items():
        merged[key] = merged[key] + sums if key in merged else sums
    return merged


@dataclass(frozen=True)
class StatsParts:
    hours: dict[tuple[int, str], Volume] = field(default_factory=dict)  # (hour 0-23, kind)
    days: dict[tuple[date, str], int] = field(default_factory=dict)  # (local day, kind) -> calls
    agents: dict[int, AgentCounts] = field(default_factory=dict)  # by agent id
    identities: dict[int, str] = field(default_factory=dict)  # agent id -> identity

    def __add__(self, other: Self) -> Self:
        return type(self)(
            hours=_merged(self.hours, other.hours),
            days=_merged(self.days, other.days),
            agents=_merged(self.agents, other.agents),
            identities=self.identities | other.identities,
        )


def histogram_median(counts: Counter[int]) -> float | None:
    """The median of the values counted, the mean of the two middle ones when their number
    is even (PERCENTILE_CONT(0.5)); None when nothing was counted."""
    total = counts.total()
    if not total:
        return None
    in_order = sorted(counts.items())
    return (_value_at(in_order, (total - 1) // 2) + _value_at(in_order, total // 2)) / 2


def _value_at(in_order: list[tuple[int, int]], position: int) -> int:
    """The value at this position (from 0) of the values counted, (value, count) in order."""
    seen = 0
    for value, count in in_order:
        seen += count
        if seen > position:
            return value
    raise IndexError(position)


# Inbound calls that ended after ringing: a blocked caller was never offered to the team.
_ENDED_INBOUND = Q(kind=FamilyKind.INBOUND, blocked=False) & ~outcome_condition(
    FamilyOutcome.IN_PROGRESS
)


def stats_parts_live(families: QuerySet[Call], *, only_agent_id: int | None = None) -> StatsParts:
    """The parts of these families (parent legs), counted from the call table in three
    queries: one pass over the families for the volumes, one over the legs that rang agents,
    and the agents' waits to answer. With `only_agent_id`, that agent's counts alone."""
    families = families.filter(start_time__isnull=False).order_by()
    ended_inbound = families.filter(_ENDED_INBOUND)
    # A few large groupings: sorted in memory, and not worth compiling (JIT) each time.
    with planner_settings(jit="off", work_mem="64MB"):
        hours, days = _volumes(families)
        agents, identities = _agent_counts(ended_inbound, only_agent_id=only_agent_id)
        waits = _answer_waits(ended_inbound, only_agent_id=only_agent_id)
    return StatsParts(
        hours=hours,
        days=days,
        agents={
            agent_id: replace(counts, answer_waits=waits.get(agent_id, Counter()))
            for agent_id, counts in agents.items()
        },
        identities=identities,
    )


def _volumes(
    families: QuerySet[Call],
) -> tuple[dict[tuple[int, str], Volume], dict[tuple[date, str], int]]:
    """Calls per hour of the day and kind with the team's inbound figures, and calls per
    local day and kind, in one pass."""
    answered = _ENDED_INBOUND & Q(dial_result=DialResult.ANSWERED)
    within_target = F("start_time") + timedelta(seconds=settings.SERVICE_LEVEL_SECONDS)
    # Grouped by the hour, one timestamp: cheaper than a date and an hour (a numeric) for
    # each of the period's families; the day and the hour are read from it here.
    rows = (
        families.annotate(local_hour=TruncHour("start_time"))
        .values("local_hour", "kind")
        .annotate(
            calls=Count("id"),
            inbound=Count("id", filter=_ENDED_INBOUND),
            answered=Count("id", filter=answered),
            answered_within_target=Count(
                "id", filter=answered & Q(child_answer_time__lte=within_target)
            ),
            abandoned=Count(
                "id", filter=_ENDED_INBOUND & outcome_condition(FamilyOutcome.UNANSWERED)
            ),
        )
    )
    hours: dict[tuple[int, str], Volume] = {}
    days: dict[tuple[date, str], int] = {}
    for row in rows:
        hour = (row["local_hour"].hour, row["kind"])
        day = (row["local_hour"].date(), row["kind"])
        volume = Volume(*(row[name] for name in VOLUME_COUNTS))
        hours[hour] = hours.get(hour, Volume()) + volume
        days[day] = days.get(day, 0) + volume.calls
    return hours, days


def _agent_counts(
    ended_inbound: QuerySet[Call], *, only_agent_id: int | None
) -> tuple[dict[int, AgentCounts], dict[int, str]]:
    """Each agent's counts, from the calls' legs that rang her, in one join of the calls to
    their legs: a dial rings each of its agents once, so each such leg is one call she was
    offered. One filter() across `children`: a second one would join the legs again and
    count each of her legs once per leg of its call."""
    agent_legs = (
        Q(children__agent__isnull=False)
        if only_agent_id is None
        else Q(children__agent_id=only_agent_id)
    )
    rung = ended_inbound.filter(agent_legs)
    by_her = Q(answered_by_id=F("children__agent_id"))
    talk = by_her & Q(children__status=CallStatus.COMPLETED)
    rows = rung.values("children__agent_id", "children__agent__identity").annotate(
        offered=Count("children__id"),
        answered=Count("children__id", filter=by_her),
        answered_by_colleague=Count("children__id", filter=Q(answered_by__isnull=False) & ~by_her),
        missed=Count("children__id", filter=~Q(dial_result=DialResult.ANSWERED)),
        talk_seconds=Sum("children__duration", filter=talk, default=0),
    )
    counts = {
        row["children__agent_id"]: AgentCounts(*(row[name] for name in AGENT_COUNTS))
        for row in rows
    }
    identities = {row["children__agent_id"]: row["children__agent__identity"] for row in rows}
    return counts, identities


def _time_to_answer() -> ExpressionWrapper[CombinedExpression]:
    """From the moment the call reached us to the first answer, on a parent leg."""
    return ExpressionWrapper(F("child_answer_time") - F("start_time"), output_field=DurationField())


def _answer_waits(
    ended_inbound: QuerySet[Call], *, only_agent_id: int | None
) -> dict[int, Counter[int]]:
    """Each agent's waits to answer the calls she answered, in whole seconds (rounded down),
    by agent id.

    PostgreSQL counts them itself; elsewhere (SQLite, the demo) they are counted here.
    """
    answered = ended_inbound.filter(answered_by__isnull=False, child_answer_time__isnull=False)
    if only_agent_id is not None:
        answered = answered.filter(answered_by_id=only_agent_id)
    waits: dict[int, Counter[int]] = {}
    if connection.vendor == "postgresql":
        seconds = Cast(Floor(Extract(_time_to_answer(), "epoch")), IntegerField())
        rows = answered.values("answered_by_id", wait=seconds).annotate(calls=Count("id"))
        for row in rows:
            waits.setdefault(row["answered_by_id"], Counter())[row["wait"]] = row["calls"]
        return waits
    pairs = answered.values_list("answered_by_id", "start_time", "child_answer_time")
    for agent_id, start_time, answer_time in pairs:
        if agent_id is None or start_time is None or answer_time is None:
            continue
        wait = math.floor((answer_time - start_time).total_seconds())
        waits.setdefault(agent_id, Counter())[wait] += 1
    return waits
