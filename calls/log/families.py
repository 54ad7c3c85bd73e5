"""Call families: a parent leg and the child legs its <Dial> created, and one family read
whole.

Lists show families, keyed by the parent; a filter matches a family when one of its legs
matches it.
"""

from dataclasses import dataclass

from django.db.models import F, QuerySet
from django.db.models.functions import Trunc

from calls.family_facts import family_outcome
from calls.hub.selectors import TimelineEntry, conference_timeline
from calls.models import Call, CallEvent, Conference, ConferenceParticipant, Recording


@dataclass(frozen=True)
class Family:
    parent: Call
    children: list[Call]

    @property
    def legs(self) -> list[Call]:
        return [self.parent, *self.children]


# Callbacks shown with a family unless all are asked for: a looping call can have thousands.
FAMILY_EVENTS_SHOWN = 100
# The query parameter value (`events=all`) that asks pages and the API for every callback.
ALL_EVENTS = "all"


@dataclass(frozen=True)
class FamilyConference:
    """The family's conference (calls.hub): who took part, and what happened, in order."""

    conference: Conference
    participants: list[ConferenceParticipant]
    timeline: list[TimelineEntry]


@dataclass(frozen=True)
class CallFamily(Family):
    events: list[CallEvent]  # the legs' callbacks, latest first
    more_events: bool  # older callbacks exist beyond `events`
    recordings: list[Recording]  # every leg's recorded calls and voicemail, oldest first
    conference: FamilyConference | None


def family_conference(parent: Call) -> FamilyConference | None:
    conference = Conference.objects.filter(family=parent).first()
    if conference is None:
        return None
    return FamilyConference(
        conference=conference,
        participants=list(conference.participants.all()),
        timeline=conference_timeline(conference),
    )


def family_parent_get(*, sid: str, families: QuerySet[Call]) -> Call | None:
    """The parent leg of the family of the leg with this SID (parent or child: a softphone
    knows its own leg), if it is one of `families`."""
    leg = Call.objects.filter(sid=sid).values("id", "parent_id").first()
    if leg is None:
        return None
    return families.filter(id=leg["parent_id"] or leg["id"]).first()


def call_family_get(
    *, sid: str, families: QuerySet[Call], all_events: bool = False
) -> CallFamily | None:
    """The family of the leg with this SID (parent or child), if it is one of `families`
    (parent legs, such as those a user may see), with its latest FAMILY_EVENTS_SHOWN
    callbacks, or all of them when asked."""
    parent = family_parent_get(
        sid=sid,
        families=families.select_related(
            "answered_by",
            "quality",
            "family_disposition__disposition",
            "family_disposition__written_by",
        ).annotate(outcome=family_outcome()),
    )
    if parent is None:
        return None
    children = list(
        parent.children.select_related("agent", "quality").order_by(
            F("start_time").asc(nulls_last=True), "id"
        )
    )
    leg_ids = [parent.id, *(child.id for child in children)]
    recordings = list(
        Recording.objects.filter(call_id__in=leg_ids)
        .select_related("call")
        .order_by(F("started_at").asc(nulls_last=True), "id")
    )
    # Twilio's Timestamp is whole seconds; a Voice URL request has none and is stamped when
    # received, to the microsecond. Cut to the second, it sorts with the callbacks of its
    # second, as the earliest of them (no SequenceNumber): the parent rings before its
    # children start.
    events = (
        CallEvent.objects.filter(call_id__in=leg_ids)
        .select_related("call")
        .order_by(
            Trunc("timestamp", "second").desc(nulls_first=True),
            F("sequence_number").desc(nulls_last=True),
            "-received_at",
            "-id",
        )
    )
    if all_events:
        return CallFamily(
            parent=parent,
            children=children,
            events=list(events),
            more_events=False,
            recordings=recordings,
            conference=family_conference(parent),
        )
    # One more than shown tells whether older ones exist, without counting them all.
    latest = list(events[: FAMILY_EVENTS_SHOWN + 1])
    return CallFamily(
        parent=parent,
        children=children,
        events=latest[:FAMILY_EVENTS_SHOWN],
        more_events=len(latest) > FAMILY_EVENTS_SHOWN,
        recordings=recordings,
        conference=family_conference(parent),
    )
