"""How calls were handled once answered, per agent: time customers spent on hold and
transfers, from the families' conferences (calls.hub).

Counted live over the filtered families, never rolled up: only calls that met in a
conference count, a handful per agent per day. A family is the agent's who answered it
first (answered_by), whoever took it over after a transfer.
"""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from calls.models import Call


@dataclass(frozen=True)
class AgentHandling:
    identity: str
    calls: int  # answered calls that met in a conference
    hold_seconds: int
    calls_held: int
    transfers: int

    @property
    def average_hold_seconds(self) -> float | None:
        """Hold time per call put on hold."""
        return self.hold_seconds / self.calls_held if self.calls_held else None


def handling_by_agent(
    families: QuerySet[Call], *, only_agent_id: int | None = None
) -> list[AgentHandling]:
    answered = families.filter(conference__isnull=False, answered_by__isnull=False)
    if only_agent_id is not None:
        answered = answered.filter(answered_by_id=only_agent_id)
    rows = (
        answered.order_by()
        .values("answered_by__identity")
        .annotate(
            calls=Count("id"),
            hold_seconds=Sum("conference__hold_seconds"),
            calls_held=Count("id", filter=Q(conference__holds__gt=0)),
            transfers=Sum("conference__transfers"),
        )
        .order_by("answered_by__identity")
    )
    return [
        AgentHandling(
            identity=row["answered_by__identity"],
            calls=row["calls"],
            hold_seconds=row["hold_seconds"] or 0,
            calls_held=row["calls_held"],
            transfers=row["transfers"] or 0,
        )
        for row in rows
    ]
