"""Reads of agents' presence: availability (presence.availability) and being on a call."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from agents.constants import Availability
from agents.models import Agent
from calls.constants import CallStatus
from calls.models import Call
from inbound.wrap_up import in_wrap_up, ringing_with_a_queue_call, wrap_up_current
from presence.availability import agent_current_availability, agents_with_current_availability


@dataclass(frozen=True)
class AgentPresence:
    identity: str
    availability: str
    on_call: bool
    since: datetime
    wrap_up_until: datetime | None


def live_legs(*, now: datetime) -> QuerySet[Call]:
    """Legs talking now. The stale sweep asks Twilio about a silent leg within minutes, which
    ends it when its `completed` callback was lost; should no sweep run, a leg Twilio has not
    mentioned (callback or fetch) for ON_CALL_MAX_SILENCE is presumed ended, so that it never
    blocks an agent."""
    heard_since = now - timedelta(seconds=settings.ON_CALL_MAX_SILENCE)
    return Call.objects.filter(
        Q(updated_at__gte=heard_since) | Q(stale_check__checked_at__gte=heard_since),
        status=CallStatus.IN_PROGRESS,
    )


def _talking_for(agent: Agent | OuterRef) -> Q:
    """A live leg is the agent's own, or the child of its leg: on an agent's outgoing call
    Twilio sends no `answered` callback for the agent's (parent) leg, only for the child
    that reached the dialled party."""
    return Q(agent=agent) | Q(parent__agent=agent)


def agents_with_presence(agents: QuerySet[Agent], *, now: datetime) -> QuerySet[Agent]:
    """Annotate `current_availability`, `on_call` (one of the agent's calls is live) and
    `in_wrap_up` (finishing the work of a queue call)."""
    on_call = Exists(live_legs(now=now).filter(_talking_for(OuterRef("pk"))))
    return agents_with_current_availability(agents, now=now).annotate(
        on_call=on_call, in_wrap_up=in_wrap_up(OuterRef("pk"), now=now)
    )


def agent_presence(*, agent: Agent, now: datetime) -> AgentPresence:
    availability, since = agent_current_availability(agent=agent, now=now)
    wrap_up = wrap_up_current(agent=agent, now=now)
    return AgentPresence(
        identity=agent.identity,
        availability=availability,
        on_call=live_legs(now=now).filter(_talking_for(agent)).exists(),
        since=since,
        wrap_up_until=wrap_up.ends_at if wrap_up is not None else None,
    )


def agent_directory(*, now: datetime) -> QuerySet[Agent]:
    """The active agents with their presence, for colleagues and supervisors to pick from."""
    active = Agent.objects.filter(is_active=True).select_related("user").order_by("identity")
    return agents_with_presence(active, now=now)


def agents_free_to_take_a_call(agents: QuerySet[Agent], *, now: datetime) -> QuerySet[Agent]:
    """The agents available now, not on a call, not in wrap-up and not ringing for a waiting
    caller: the presence that routing rings."""
    return agents_with_presence(agents, now=now).filter(
        Q(current_availability=Availability.AVAILABLE),
        Q(on_call=False),
        Q(in_wrap_up=False),
        ~ringing_with_a_queue_call(OuterRef("pk")),
    )
