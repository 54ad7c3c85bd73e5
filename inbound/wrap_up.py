"""An agent's wrap-up after a queue call: when it ends, and ending or extending it.

Routing skips an agent in wrap-up (presence.selectors); it ends by itself at `ends_at`,
so nothing has to run when it lapses.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Greatest

from agents.models import Agent
from inbound.models import QueueOffer, WrapUp

# The most an agent can add to her wrap-up at once.
WRAP_UP_EXTEND_MAX_SECONDS = 3600


def in_wrap_up(agent: Agent | OuterRef, *, now: datetime) -> Exists:
    """The agent has a wrap-up going on."""
    return Exists(WrapUp.objects.filter(Q(agent=agent), ends_at__gt=now))


def ringing_with_a_queue_call(agent: Agent | OuterRef) -> Exists:
    """A waiting caller is ringing the agent (her reservation)."""
    return Exists(QueueOffer.objects.filter(Q(agent=agent), closed_at__isnull=True))


def wrap_up_current(*, agent: Agent, now: datetime) -> WrapUp | None:
    return WrapUp.objects.filter(agent=agent, ends_at__gt=now).order_by("-ends_at").first()


@transaction.atomic
def wrap_up_end(*, agent: Agent, now: datetime) -> None:
    """End the agent's wrap-up now: she takes calls again."""
    WrapUp.objects.filter(agent=agent, ends_at__gt=now).update(
        ends_at=Greatest(F("started_at"), Value(now))
    )


@transaction.atomic
def wrap_up_extend(*, agent: Agent, seconds: int, now: datetime) -> WrapUp | None:
    """Add `seconds` to the agent's wrap-up going on; None when she is not wrapping up."""
    wrap_up = (
        WrapUp.objects.select_for_update()
        .filter(agent=agent, ends_at__gt=now)
        .order_by("-ends_at")
        .first()
    )
    if wrap_up is None:
        return None
    wrap_up.ends_at += timedelta(seconds=min(seconds, WRAP_UP_EXTEND_MAX_SECONDS))
    wrap_up.save(update_fields=["ends_at"])
    return wrap_up
