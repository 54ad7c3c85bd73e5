"""Reads of call quality for the statistics: the share of poor calls per agent and per day."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate

from calls.models import Call, CallQuality


@dataclass(frozen=True)
class PoorShare:
    """Of the calls whose quality is known (`judged`), how many were poor."""

    judged: int
    poor: int

    @property
    def share(self) -> float | None:
        return self.poor / self.judged if self.judged else None


@dataclass(frozen=True)
class QualityShares:
    per_agent: dict[str, PoorShare]  # agent identity -> her legs
    per_day: dict[date, PoorShare]  # local day the call started -> calls


def poor_call_shares(families: QuerySet[Call], *, only_agent_id: int | None) -> QualityShares:
    """The share of poor calls among these families (parent legs): per agent, of her legs
    with a known quality; per day, of the calls with a leg of known quality (a call is poor
    when one of its legs is). With `only_agent_id`, only that agent's figures."""
    family_ids = families.order_by().values("id")
    judged_legs = Call.objects.filter(
        Q(id__in=family_ids) | Q(parent_id__in=family_ids), quality__poor__isnull=False
    )
    agents = judged_legs.filter(agent__isnull=False)
    if only_agent_id is not None:
        agents = agents.filter(agent_id=only_agent_id)
    per_agent = {
        row["agent__identity"]: PoorShare(judged=row["judged"], poor=row["poor"])
        for row in agents.values("agent__identity")
        .annotate(judged=Count("id"), poor=Count("id", filter=Q(quality__poor=True)))
        .order_by("agent__identity")
    }
    in_family = Q(call_id=OuterRef("id")) | Q(call__parent_id=OuterRef("id"))
    known = CallQuality.objects.filter(in_family, poor__isnull=False)
    days = (
        families.order_by()
        .filter(Exists(known), start_time__isnull=False)
        .annotate(day=TruncDate("start_time"), poor_leg=Exists(known.filter(poor=True)))
        .values("day")
        .annotate(judged=Count("id"), poor=Count("id", filter=Q(poor_leg=True)))
        .order_by("day")
    )
    per_day = {row["day"]: PoorShare(judged=row["judged"], poor=row["poor"]) for row in days}
    return QualityShares(per_agent=per_agent, per_day=per_day)
