"""Who a call may ring: agents who are active, take calls, are available and not on a call."""

from datetime import datetime

from django.db.models import DateTimeField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from agents.models import Agent
from calls.models import Call
from presence.selectors import agents_free_to_take_a_call


def agents_to_ring(*, candidates: QuerySet[Agent], now: datetime) -> QuerySet[Agent]:
    """The candidates who can take a call now, idle longest first.

    Idle since the later of becoming available and the end of the last call: the agent who
    has waited longest rings first, and first among the ten a <Dial> can hold.
    """
    last_call_end = Subquery(
        Call.objects.filter(agent=OuterRef("pk"), end_time__isnull=False)
        .order_by("-end_time")
        .values("end_time")[:1],
        output_field=DateTimeField(),
    )
    eligible = agents_free_to_take_a_call(
        candidates.filter(is_active=True, incoming_allowed=True), now=now
    )
    return eligible.annotate(
        idle_since=Greatest("availability_since", Coalesce(last_call_end, "availability_since"))
    ).order_by("idle_since", "identity")
