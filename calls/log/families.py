"""Call families: a parent leg and the child legs its <Dial> created, and one family read
whole.

Lists show families, keyed by the parent; a filter matches a family when one of its legs
matches it.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce

from calls.models import Call, CallEvent, Recording


def family_id() -> Coalesce:
    """The id of a leg's family: its parent's id, or its own for a parent.

    Matches the expression of the index `call_family_idx`, which makes "the family of these
    legs" and "the legs of this family" index lookups.
    """
    return Coalesce("parent_id", "id")


def families_of(legs: QuerySet[Call]) -> QuerySet[Call, Any]:
    """The family ids of these legs, for use as an `id__in` subquery."""
    return legs.annotate(family_id=family_id()).values("family_id")


@dataclass(frozen=True)
class Family:
    parent: Call
    children: list[Call]

    @property
    def legs(self) -> list[Call]:
        return [self.parent, *self.children]


@dataclass(frozen=True)
class CallFamily(Family):
    events: list[CallEvent]  # every leg's callbacks, in the order Twilio fired them
    recordings: list[Recording]  # every leg's recorded calls and voicemail, oldest first


def call_family_get(*, sid: str, families: QuerySet[Call]) -> CallFamily | None:
    """The family of the leg with this SID (parent or child), if it is one of `families`
    (parent legs, such as those a user may see)."""
    leg = Call.objects.filter(sid=sid).values("id", "parent_id").first()
    if leg is None:
        return None
    parent = families.filter(id=leg["parent_id"] or leg["id"]).first()
    if parent is None:
        return None
    children = list(
        parent.children.select_related("agent").order_by(F("start_time").asc(nulls_last=True), "id")
    )
    leg_ids = [parent.id, *(child.id for child in children)]
    events = list(
        CallEvent.objects.filter(call_id__in=leg_ids)
        .select_related("call")
        .order_by(F("timestamp").asc(nulls_last=True), "sequence_number", "received_at", "id")
    )
    recordings = list(
        Recording.objects.filter(call_id__in=leg_ids)
        .select_related("call")
        .order_by(F("started_at").asc(nulls_last=True), "id")
    )
    return CallFamily(parent=parent, children=children, events=events, recordings=recordings)
