"""Agents' availability: who changes it, how a silent browser softphone lapses, what it is now.

Whether an agent is on a call comes from the call table (presence.selectors), which imports this.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from agents.constants import Availability, PresenceSource
from agents.models import Agent, PresenceChange


def presence_lapse_time(*, heartbeat_at: datetime) -> datetime:
    """When availability that a softphone keeps alive lapses after its last heartbeat."""
    return heartbeat_at + timedelta(seconds=settings.PRESENCE_TIMEOUT)


def _lapsed(*, now: datetime) -> Q:
    return Q(heartbeat_at__lt=now - timedelta(seconds=settings.PRESENCE_TIMEOUT))


def agents_with_current_availability(agents: QuerySet[Agent], *, now: datetime) -> QuerySet[Agent]:
    """Annotate `current_availability`: offline once a softphone's heartbeat has stopped.

    The stored availability catches up when presence_lapse_silent_softphones runs; reads are
    right in between.
    """
    return agents.annotate(
        current_availability=Case(
            When(_lapsed(now=now), then=Value(Availability.OFFLINE.value)),
            default=F("availability"),
        )
    )


def agent_current_availability(*, agent: Agent, now: datetime) -> tuple[str, datetime]:
    """The agent's availability now and since when, counting a lapse not yet stored."""
    if agent.heartbeat_at is not None and now >= presence_lapse_time(
        heartbeat_at=agent.heartbeat_at
    ):
        if agent.availability == Availability.OFFLINE:
            return agent.availability, agent.availability_since
        return Availability.OFFLINE, presence_lapse_time(heartbeat_at=agent.heartbeat_at)
    return agent.availability, agent.availability_since


@transaction.atomic
def presence_set(
    *,
    agent: Agent,
    availability: str,
    source: PresenceSource,
    changed_by: User | None,
    heartbeat: bool,
) -> Agent:
    """Set the agent's availability and record the change; a repeat only renews the heartbeat.

    With `heartbeat`, the availability lapses to offline unless it is set again within
    PRESENCE_TIMEOUT seconds (the browser softphone); without, it stays (mobile apps, admin).
    The time of the change is read once the agent's row is locked: changes are then stored in
    the order they took effect, however many arrive at once.
    """
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    now = timezone.now()
    _lapse_if_silent(locked, now=now)
    if locked.availability != availability:
        _record_change(locked, to=availability, at=now, source=source, changed_by=changed_by)
    locked.heartbeat_at = now if heartbeat else None
    locked.save(update_fields=["availability", "availability_since", "heartbeat_at"])
    return locked


def presence_set_many(
    *,
    agents: Iterable[Agent],
    availability: str,
    source: PresenceSource,
    changed_by: User | None,
) -> None:
    """Set several agents' availability at once, without lapse (a supervisor's decision)."""
    for agent in agents:
        presence_set(
            agent=agent,
            availability=availability,
            source=source,
            changed_by=changed_by,
            heartbeat=False,
        )


@transaction.atomic
def presence_lapse_silent_softphones(*, now: datetime) -> int:
    """Store offline for agents whose softphone stopped its heartbeat; return how many."""
    silent = Agent.objects.select_for_update(skip_locked=True).filter(_lapsed(now=now))
    count = 0
    for agent in silent:
        _lapse_if_silent(agent, now=now)
        agent.save(update_fields=["availability", "availability_since", "heartbeat_at"])
        count += 1
    return count


def _lapse_if_silent(agent: Agent, *, now: datetime) -> None:
    if agent.heartbeat_at is None:
        return
    lapse_time = presence_lapse_time(heartbeat_at=agent.heartbeat_at)
    if now < lapse_time:
        return
    agent.heartbeat_at = None
    if agent.availability != Availability.OFFLINE:
        _record_change(
            agent,
            to=Availability.OFFLINE,
            at=lapse_time,
            source=PresenceSource.TIMEOUT,
            changed_by=None,
        )


def _record_change(
    agent: Agent,
    *,
    to: str,
    at: datetime,
    source: PresenceSource,
    changed_by: User | None,
) -> None:
    PresenceChange.objects.create(
        agent=agent,
        from_availability=agent.availability,
        to_availability=to,
        changed_at=at,
        source=source,
        changed_by=changed_by,
    )
    agent.availability = to
    agent.availability_since = at
