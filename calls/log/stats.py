"""The call log's statistics: legs per day and per hour by direction, and each agent's
answer rate and talk time. charts.py draws them."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate

from calls.constants import CallStatus
from calls.log.families import family_id
from calls.models import Call

ANSWERED_STATUSES = (CallStatus.IN_PROGRESS, CallStatus.COMPLETED)


@dataclass(frozen=True)
class AgentStats:
    identity: str
    legs: int
    answered: int
    average_talk_seconds: float | None

    @property
    def answer_rate(self) -> float:
        return self.answered / self.legs if self.legs else 0.0


@dataclass(frozen=True)
class CallStats:
    per_day: dict[date, dict[str, int]]  # day -> direction -> legs
    per_hour: dict[int, dict[str, int]]  # hour of day, 0-23 -> direction -> legs
    directions: list[str]
    agents: list[AgentStats]


def call_stats(families: QuerySet[Call], *, first_day: date, last_day: date) -> CallStats:
    """Legs per day and per hour of day by direction, and each agent's answer rate and
    average talk time, over every leg of these families.

    The days charted are those asked for, first_day to last_day, never the span of the data:
    one leg with an absurd start time must not make a chart of every day since.
    """
    legs = Call.objects.annotate(family_id=family_id()).filter(
        family_id__in=families.values("id"), start_time__isnull=False
    )
    per_day: dict[date, dict[str, int]] = {}
    per_hour: dict[int, dict[str, int]] = {hour: {} for hour in range(24)}
    directions: set[str] = set()
    by_day = legs.annotate(day=TruncDate("start_time")).values("day", "direction")
    for day_row in by_day.annotate(legs=Count("id")).order_by():
        per_day.setdefault(day_row["day"], {})[day_row["direction"]] = day_row["legs"]
        directions.add(day_row["direction"])
    by_hour = legs.annotate(hour=ExtractHour("start_time")).values("hour", "direction")
    for hour_row in by_hour.annotate(legs=Count("id")).order_by():
        per_hour[hour_row["hour"]][hour_row["direction"]] = hour_row["legs"]
    by_agent = (
        legs.filter(agent__isnull=False)
        .values("agent__identity")
        .annotate(
            legs=Count("id"),
            answered=Count("id", filter=Q(status__in=ANSWERED_STATUSES)),
            average_talk_seconds=Avg("duration", filter=Q(status=CallStatus.COMPLETED)),
        )
        .order_by("agent__identity")
    )
    agents = [
        AgentStats(
            identity=row["agent__identity"],
            legs=row["legs"],
            answered=row["answered"],
            average_talk_seconds=row["average_talk_seconds"],
        )
        for row in by_agent
    ]
    if per_day:
        days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
        per_day = {day: per_day.get(day, {}) for day in days}
    return CallStats(
        per_day=per_day,
        per_hour=per_hour,
        directions=sorted(directions),
        agents=agents,
    )
