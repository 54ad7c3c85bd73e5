"""What the live board shows: the families not yet ended, the agents, and today's counts.

Who sees which families is calls.access's rule; agents see only themselves in the list of
agents.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from agents.models import Agent
from calls.access import (
    User,
    call_families_visible_to,
    call_log_agent_id,
    call_log_sees_everything,
)
from calls.constants import STATUS_RANK, TERMINAL_STATUSES, CallStatus, FamilyOutcome
from calls.family_facts import outcome_condition
from calls.models import Call, Conference
from calls.reconcile.selectors import leg_is_silent
from inbound.selectors import QueueNow, queues_now, wrap_ups_now
from presence.availability import agent_current_availability
from presence.selectors import agents_with_presence

# Families shown at most: far more than a contact centre has at once, and a bound on the
# cost of one poll when lost callbacks leave many families open.
LIVE_FAMILIES_LIMIT = 200
NOT_ENDED_STATUSES = [status for status in CallStatus.values if status not in TERMINAL_STATUSES]
# Statuses of a leg that Twilio has placed and nobody has answered yet (queued to ringing). A
# placeholder leg, with no status yet, is not ringing: nothing has said so.
RINGING_STATUSES = frozenset(
    status
    for status, rank in STATUS_RANK.items()
    if STATUS_RANK[CallStatus.QUEUED] <= rank < STATUS_RANK[CallStatus.IN_PROGRESS]
)


@dataclass(frozen=True)
class LiveLeg:
    sid: str
    status: str
    agent: str | None  # identity
    to: str
    stale: bool  # no news for RECONCILE_STALE_AFTER: the stale sweep asks Twilio about it


@dataclass(frozen=True)
class LiveCall:
    sid: str
    kind: str
    from_address: str
    to: str
    started_at: datetime
    legs: list[LiveLeg]  # the parent first, then its children in the order they started
    conference: str | None  # the hub's conference the family meets in, while it goes on


@dataclass(frozen=True)
class LiveAgent:
    identity: str
    availability: str
    on_call: bool  # presence.selectors' rule: one of the agent's legs is in progress
    with_address: str | None  # the other party of the call the agent is talking on
    since: datetime | None  # on a call: since it was answered; else since its availability
    wrap_up_until: datetime | None  # wrapping up after a queue call until then


@dataclass(frozen=True)
class LiveCounts:
    ringing: int  # families not ended with a leg ringing and none talking
    in_progress: int  # families not ended with a leg talking
    answered_today: int  # families started today (TIME_ZONE) that ended answered
    missed_today: int  # ... that ended unanswered or in voicemail (calls.family_facts)


@dataclass(frozen=True)
class LiveBoard:
    calls: list[LiveCall]
    agents: list[LiveAgent]
    counts: LiveCounts
    queues: list[QueueNow]


def live_families(*, user: User) -> QuerySet[Call]:
    """Parent legs of the families the user may see that have not ended, oldest first."""
    return (
        call_families_visible_to(user)
        .filter(outcome_condition(FamilyOutcome.IN_PROGRESS))
        .select_related("stale_check", "conference")
        .order_by("created_at", "id")
    )


def live_board(*, user: User, now: datetime) -> LiveBoard:
    """Everything the live board shows, in eight queries."""
    parents = list(live_families(user=user)[:LIVE_FAMILIES_LIMIT])
    children_by_parent: dict[int, list[Call]] = {parent.pk: [] for parent in parents}
    children = Call.objects.filter(parent_id__in=children_by_parent).select_related(
        "agent", "stale_check"
    )
    for child in children.order_by("created_at", "id"):
        children_by_parent[child.parent_id].append(child)  # type: ignore[index]
    calls = [
        _live_call(parent, [parent, *children_by_parent[parent.pk]], now=now) for parent in parents
    ]
    return LiveBoard(
        calls=calls,
        agents=_live_agents(user=user, now=now, parents=parents, children=children_by_parent),
        counts=_live_counts(user=user, now=now, parents=parents, children=children_by_parent),
        queues=queues_now(now=now),
    )


def _live_call(parent: Call, legs: list[Call], *, now: datetime) -> LiveCall:
    return LiveCall(
        sid=parent.sid,
        kind=parent.kind,
        from_address=parent.from_number,
        to=parent.to_number,
        started_at=parent.start_time or parent.created_at,
        legs=[
            LiveLeg(
                sid=leg.sid,
                status=_parent_status(parent, legs[1:]) if leg is parent else leg.status,
                agent=leg.agent.identity if leg.agent else None,
                to=leg.to_number,
                stale=leg_is_silent(leg, now=now),
            )
            for leg in legs
        ],
        conference=_conference_name(parent),
    )


def _conference_name(parent: Call) -> str | None:
    """The name supervisors listen in by; None before the call is answered, once the
    conference ended, and with CONFERENCE_HUB off."""
    try:
        conference = parent.conference
    except Conference.DoesNotExist:
        return None
    return conference.friendly_name if conference.ended_at is None else None


def _talking(legs: list[Call]) -> bool:
    return any(leg.status == CallStatus.IN_PROGRESS for leg in legs)


def _ringing(legs: list[Call]) -> bool:
    return not _talking(legs) and any(leg.status in RINGING_STATUSES for leg in legs)


def _parent_status(parent: Call, children: list[Call]) -> str:
    """The parent leg's status as the family shows it: in progress while a child talks, since
    Twilio sends a parent that <Dial> connects no `answered` callback of its own."""
    if parent.status not in TERMINAL_STATUSES and _talking(children):
        return CallStatus.IN_PROGRESS
    return parent.status


def _live_agents(
    *, user: User, now: datetime, parents: list[Call], children: dict[int, list[Call]]
) -> list[LiveAgent]:
    """Every active agent (an agent sees only itself) with its presence, and the leg of the
    board it talks on."""
    agents = agents_with_presence(
        Agent.objects.filter(is_active=True).order_by("identity"), now=now
    )
    if not call_log_sees_everything(user):
        own_agent_id = call_log_agent_id(user)
        agents = agents.filter(id=own_agent_id) if own_agent_id is not None else agents.none()
    # agent id -> (the leg talking, the family's parent). The parent's agent talks too while a
    # child is answered: Twilio sends no `answered` callback for the calling agent's own leg.
    talking: dict[int, tuple[Call, Call]] = {}
    for parent in parents:
        for leg in [parent, *children[parent.pk]]:
            if leg.status == CallStatus.IN_PROGRESS:
                for agent_id in (leg.agent_id, parent.agent_id):
                    if agent_id is not None:
                        talking.setdefault(agent_id, (leg, parent))
    wrap_ups = wrap_ups_now(now=now)
    return [
        _live_agent(agent, talking.get(agent.pk), wrap_ups.get(agent.pk), now=now)
        for agent in agents
    ]


def _live_agent(
    agent: Agent,
    talking: tuple[Call, Call] | None,
    wrap_up_until: datetime | None,
    *,
    now: datetime,
) -> LiveAgent:
    availability, available_since = agent_current_availability(agent=agent, now=now)
    on_call: bool = agent.on_call  # type: ignore[attr-defined]  # agents_with_presence
    if not on_call or talking is None:
        return LiveAgent(
            identity=agent.identity,
            availability=availability,
            on_call=on_call,
            with_address=None,
            since=None if on_call else available_since,
            wrap_up_until=wrap_up_until,
        )
    leg, parent = talking
    is_caller = parent.from_number == agent.client_address
    return LiveAgent(
        identity=agent.identity,
        availability=availability,
        on_call=True,
        with_address=parent.to_number if is_caller else parent.from_number,
        since=leg.answer_time or leg.status_changed_at or leg.start_time,
        wrap_up_until=wrap_up_until,
    )


def _live_counts(
    *, user: User, now: datetime, parents: list[Call], children: dict[int, list[Call]]
) -> LiveCounts:
    families = [[parent, *children[parent.pk]] for parent in parents]
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    missed = outcome_condition(FamilyOutcome.UNANSWERED) | outcome_condition(
        FamilyOutcome.VOICEMAIL
    )
    ended_today = (
        call_families_visible_to(user)
        .filter(start_time__gte=today)
        .aggregate(
            answered=Count("id", filter=outcome_condition(FamilyOutcome.ANSWERED)),
            missed=Count("id", filter=missed),
        )
    )
    return LiveCounts(
        ringing=sum(1 for legs in families if _ringing(legs)),
        in_progress=sum(1 for legs in families if _talking(legs)),
        answered_today=ended_today["answered"],
        missed_today=ended_today["missed"],
    )
