"""What a call family is and how it ended: the one place these rules live.

Twilio's `direction` describes one leg, and an agent's outgoing softphone call has an
`inbound` parent leg, so the family's kind is worked out from its parent's direction and
addresses (or, until the parent is known, from a child's). The writer (calls.call_table)
stores the kind and the facts the outcome depends on on the parent leg as legs arrive; the
outcome itself is an expression over those stored facts, so the call log filters and counts
it without looking at the children.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.fields import CharField
from django.db.models.functions import Coalesce

from calls.constants import (
    DIAL_RESULT_OF_STATUS,
    TERMINAL_STATUSES,
    CallDirection,
    CallStatus,
    DialResult,
    FamilyKind,
    FamilyOutcome,
)
from voiceproject.twilio_ids import client_identity, is_e164, is_identity

if TYPE_CHECKING:
    from calls.models import Call

# The final statuses in a fixed order: the condition of the index of live families
# (call_parent_live_idx) must read exactly as the outcome filter's.
ENDED_STATUSES = sorted(TERMINAL_STATUSES)

# Parent directions of calls no softphone or phone number of ours started.
_OTHER_DIRECTIONS = frozenset(
    {
        CallDirection.OUTBOUND_API,
        CallDirection.TRUNKING_ORIGINATING,
        CallDirection.TRUNKING_TERMINATING,
    }
)


def parent_kind(*, direction: str, from_address: str, to_address: str) -> str:
    """The family's kind from its parent leg alone; empty when the parent does not tell.

    A softphone's call is an `inbound` parent from `client:<identity>` whose To is what the
    agent dialled (as the Voice URL reads it: an E.164 number, or an agent's identity).
    Twilio's own call log has no To for it: then the child legs tell.
    """
    if direction in _OTHER_DIRECTIONS:
        return FamilyKind.OTHER
    if direction != CallDirection.INBOUND:
        return ""
    if client_identity(from_address) is None:
        return FamilyKind.INBOUND
    if not to_address:
        return ""
    if is_e164(to_address):
        return FamilyKind.OUTBOUND
    if is_identity(client_identity(to_address) or to_address):
        return FamilyKind.INTERNAL
    return FamilyKind.OTHER


def kind_seen_from_child(*, from_address: str, to_address: str) -> str:
    """The family's kind as one <Dial> child leg shows it, for a parent that does not tell.

    A colleague's call comes from a client, a customer's call rings a client, and an agent's
    call to a number has a number at both ends.
    """
    if client_identity(from_address) is not None:
        return FamilyKind.INTERNAL
    if client_identity(to_address) is not None:
        return FamilyKind.INBOUND
    return FamilyKind.OUTBOUND if to_address else ""


def dial_result_of_status(status: str) -> int:
    """What a child leg's status says about its family's dial (DialResult)."""
    return DIAL_RESULT_OF_STATUS.get(status, DialResult.NONE)


def leg_answer_time(*, status: str, at: datetime | None, duration: int | None) -> datetime | None:
    """When a leg was answered, from its status at time `at`: the `in-progress` time, or a
    final `completed` time less its duration (the talk time Twilio bills), when a callback
    was lost or only the REST API described the leg."""
    if at is None:
        return None
    if status == CallStatus.IN_PROGRESS:
        return at
    if status == CallStatus.COMPLETED and duration is not None:
        return at - timedelta(seconds=duration)
    return None


def outcome_condition(outcome: str, *, of: str = "") -> Q:
    """Parent legs whose family has this outcome (FamilyOutcome), from the facts stored on
    the parent: in progress until the parent ends; then blocked when the blocklist rejected
    it, answered when a child was (or, for a call of kind `other`, which rings no agent,
    when the parent completed), voicemail when the caller left one, failed when Twilio
    could not place it (the parent, or every child, failed), and unanswered otherwise.

    `of` prefixes each lookup, to ask about a related parent (`of="parent__"`).
    """

    def fact(**lookup: object) -> Q:
        return Q(**{of + name: value for name, value in lookup.items()})

    ended = fact(status__in=ENDED_STATUSES)
    blocked = fact(blocked=True)
    answered = fact(dial_result=DialResult.ANSWERED) | fact(
        kind=FamilyKind.OTHER, status=CallStatus.COMPLETED
    )
    failed = fact(status=CallStatus.FAILED) | fact(dial_result=DialResult.FAILED)
    no_voicemail = fact(voicemail_left=False)
    rang = ended & ~blocked
    conditions = {
        FamilyOutcome.IN_PROGRESS: ~ended,
        FamilyOutcome.BLOCKED: ended & blocked,
        FamilyOutcome.ANSWERED: rang & answered,
        FamilyOutcome.VOICEMAIL: rang & ~answered & fact(voicemail_left=True),
        FamilyOutcome.FAILED: rang & ~answered & no_voicemail & failed,
        FamilyOutcome.UNANSWERED: rang & ~answered & no_voicemail & ~failed,
    }
    return conditions[FamilyOutcome(outcome)]


def family_outcome(*, of: str = "") -> Case:
    """The family's outcome as an annotation of its parent leg (or of a child, with
    `of="parent__"`)."""
    return Case(
        *(
            When(outcome_condition(outcome, of=of), then=Value(outcome))
            for outcome in FamilyOutcome
        ),
        output_field=CharField(),
    )


def family_handler_id(parent: "Call") -> int | None:
    """The id of the agent who handled the family: who answered an inbound or internal
    call, or who placed an outbound one (her softphone's parent leg)."""
    if parent.kind == FamilyKind.OUTBOUND:
        return parent.agent_id
    return parent.answered_by_id


def family_id() -> Coalesce:
    """The id of a leg's family: its parent's id, or its own for a parent.

    Matches the expression of the index `call_family_idx`, which makes "the family of these
    legs" and "the legs of this family" index lookups.
    """
    return Coalesce("parent_id", "id")


def families_of(legs: "QuerySet[Call]") -> "QuerySet[Call, Any]":
    """The family ids of these legs, for use as an `id__in` subquery."""
    return legs.annotate(family_id=family_id()).values("family_id")
