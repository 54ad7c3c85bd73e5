"""A caller's turn in a queue: waiting, offers to agents, the answer, hanging up, wrap-up.

Our own bookkeeping rather than Twilio's <Enqueue>: every leg stays in the caller's family
(an agent reached through <Dial><Queue> from a call we placed would be a family of its own),
so the call log, recordings and statistics keep working as for any call to a number.

Each request to the wait URL asks queue_caller_next_step. A caller behind others just
waits; anything else is decided with the queue's row locked, so the processes serving one
queue choose one at a time. Only the longest-waiting caller not already ringing is offered
an agent, which keeps arrival order. The offer is a QueueOffer row, and an agent has at most
one ringing (a partial unique index), so two queues or two processes never ring one agent
for two callers.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.models import Agent
from calls.constants import CallStatus
from calls.deliveries.calls import DialAction, TwilioCallback
from calls.models import Call
from calls.webhooks.routing import agents_to_ring
from inbound.models import (
    CallerOutcome,
    OfferResult,
    Queue,
    QueueCaller,
    QueueMember,
    QueueOffer,
    QueueRouting,
    WrapUp,
)
from voiceproject.twilio_ids import agent_identity_on_leg

# Twilio refuses a <Dial> with more than ten nouns: ring-all offers at most ten members.
RING_ALL_MAX_AGENTS = 10
# How long past its ring timeout an offer holds the agent when Twilio never reports on it.
OFFER_GRACE_SECONDS = 30
# The expected wait is the median wait of this many callers answered last.
EXPECTED_WAIT_SAMPLE = 20


@dataclass(frozen=True)
class Ring:
    """Ring these agents for the queue's ring timeout."""

    queue: Queue
    agents: list[Agent]


@dataclass(frozen=True)
class Announcement:
    """What a waiting caller hears every so often."""

    position: int
    expected_wait_seconds: int | None


@dataclass(frozen=True)
class Wait:
    """Keep waiting; with an announcement when it is time to hear the position again."""

    queue: Queue
    announcement: Announcement | None


@dataclass(frozen=True)
class TimedOut:
    """The caller waited the queue's maximum wait: its unanswered-call policy applies."""

    queue: Queue


@dataclass(frozen=True)
class WaitEnded:
    """The caller's wait ended already (answered or hung up): nothing more to do."""


QueueStep = Ring | Wait | TimedOut | WaitEnded

# A caller ringing an agent: one of her offers is open.
_ringing = Exists(QueueOffer.objects.filter(caller=OuterRef("pk"), closed_at__isnull=True))


def queue_caller_next_step(*, queue_id: int, call_sid: str) -> QueueStep | None:
    """What a caller in the queue does now: ring agents, wait, or leave at the maximum wait;
    None when there is no such queue.

    A caller already waiting behind others, with no offer of her own, just waits: that takes
    one read and no lock, and is what most requests to the wait loop find. Anything else is
    decided with the queue's row locked (queue_caller_next_step_locked).
    """
    now = timezone.now()
    earlier = Q(arrived_at__lt=OuterRef("arrived_at")) | Q(
        arrived_at=OuterRef("arrived_at"), id__lt=OuterRef("id")
    )
    caller = (
        QueueCaller.objects.filter(call_sid=call_sid, queue_id=queue_id)
        .select_related("queue")
        .annotate(
            ringing=_ringing,
            behind_others=Exists(
                QueueCaller.objects.filter(
                    earlier, queue_id=queue_id, outcome=CallerOutcome.WAITING
                ).exclude(_ringing)
            ),
        )
        .first()
    )
    if (
        caller is not None
        and caller.outcome == CallerOutcome.WAITING
        and caller.behind_others
        and not caller.ringing
        and now < caller.arrived_at + timedelta(seconds=caller.queue.maximum_wait)
    ):
        return _waiting(caller.queue, caller, now=now)
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        return None
    return queue_caller_next_step_locked(queue=queue, call_sid=call_sid)


@transaction.atomic
def queue_caller_next_step_locked(*, queue: Queue, call_sid: str) -> QueueStep:
    """Enter the caller, or end her wait at the maximum wait, or offer her agents when she is
    at the head; with the queue's row locked, so that the processes serving one queue choose
    one at a time.

    The first request enters the caller; each later one means the previous <Dial>, if any,
    has ended, so the caller's offers are closed first. The time is read once the row is
    locked: callers arrive in the order they are served, however many come at once.
    """
    queue = Queue.objects.select_for_update().get(pk=queue.pk)
    now = timezone.now()
    caller, _ = QueueCaller.objects.get_or_create(
        call_sid=call_sid, defaults={"queue": queue, "arrived_at": now}
    )
    if caller.outcome != CallerOutcome.WAITING:
        return WaitEnded()
    _close_offers(caller, result=OfferResult.NOT_ANSWERED, now=now)
    if now >= caller.arrived_at + timedelta(seconds=queue.maximum_wait):
        _end_wait(caller, outcome=CallerOutcome.TIMED_OUT, at=now)
        return TimedOut(queue=queue)
    if _first_waiting_not_ringing(queue) == caller.pk:
        agents = _offer(queue, caller, now=now)
        if agents:
            return Ring(queue=queue, agents=agents)
    return _waiting(queue, caller, now=now)


def _waiting(queue: Queue, caller: QueueCaller, *, now: datetime) -> Wait:
    """Hold on; her position and expected wait when it is time to announce them again."""
    announce = caller.announced_at is None or now >= caller.announced_at + timedelta(
        seconds=queue.announce_every
    )
    if not announce:
        return Wait(queue=queue, announcement=None)
    caller.announced_at = now
    caller.save(update_fields=["announced_at"])
    announcement = Announcement(
        position=_position(caller), expected_wait_seconds=_expected_wait(queue)
    )
    return Wait(queue=queue, announcement=announcement)


def _first_waiting_not_ringing(queue: Queue) -> int | None:
    """The caller at the head: waiting longest, and not ringing an agent already."""
    return (
        QueueCaller.objects.filter(queue=queue, outcome=CallerOutcome.WAITING)
        .exclude(_ringing)
        .order_by("arrived_at", "id")
        .values_list("pk", flat=True)
        .first()
    )


def _position(caller: QueueCaller) -> int:
    """1 for the first in line: the callers waiting who arrived earlier, plus one."""
    earlier = Q(arrived_at__lt=caller.arrived_at) | Q(
        arrived_at=caller.arrived_at, id__lt=caller.pk
    )
    waiting = QueueCaller.objects.filter(queue_id=caller.queue_id, outcome=CallerOutcome.WAITING)
    return waiting.filter(earlier).count() + 1


def _expected_wait(queue: Queue) -> int | None:
    """The median wait of the callers answered last; None before the first answer."""
    waits = list(
        QueueCaller.objects.filter(queue=queue, outcome=CallerOutcome.ANSWERED)
        .order_by("-ended_at")
        .values_list("wait_seconds", flat=True)[:EXPECTED_WAIT_SAMPLE]
    )
    return round(median(wait for wait in waits if wait is not None)) if waits else None


def queue_agents_free(*, queue: Queue, caller: QueueCaller, now: datetime) -> QuerySet[Agent]:
    """The queue's members who can take the caller now, in the order they are offered.

    Longest idle first (calls.webhooks.routing), but an agent this caller already rang
    comes after those she has not: the ring timeout moves on to the next agent. The
    members' order breaks ties.
    """
    member_order = QueueMember.objects.filter(queue=queue, agent=OuterRef("pk")).values("order")
    tries = (
        QueueOffer.objects.filter(caller=caller, agent=OuterRef("pk"))
        .values("caller")
        .annotate(count=Count("pk"))
        .values("count")
    )
    free = agents_to_ring(candidates=Agent.objects.filter(queues=queue), now=now)
    return free.annotate(
        member_order=Subquery(member_order, output_field=IntegerField()),
        tries=Coalesce(Subquery(tries, output_field=IntegerField()), Value(0)),
    ).order_by("tries", "idle_since", "member_order", "identity")


def _offer(queue: Queue, caller: QueueCaller, *, now: datetime) -> list[Agent]:
    """Reserve the agents the caller rings: one (longest idle) or every free member."""
    _expire_lost_offers(now=now)
    wanted = RING_ALL_MAX_AGENTS if queue.routing == QueueRouting.RING_ALL else 1
    candidates = queue_agents_free(queue=queue, caller=caller, now=now)
    if connection.features.has_select_for_update_skip_locked:
        # An agent another process is reserving right now is left to it.
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    free = list(candidates[: wanted + RING_ALL_MAX_AGENTS])
    # Timed after the read that found them free: an offer another process closed meanwhile
    # (which freed the agent) was closed before this one was made.
    offered_at = timezone.now()
    expires_at = offered_at + timedelta(seconds=queue.ring_timeout + OFFER_GRACE_SECONDS)
    offered: list[Agent] = []
    for agent in free:
        try:
            with transaction.atomic():
                QueueOffer.objects.create(
                    caller=caller, agent=agent, offered_at=offered_at, expires_at=expires_at
                )
        except IntegrityError:
            continue  # offered a call by another queue meanwhile
        offered.append(agent)
        if len(offered) == wanted:
            break
    return offered


def _expire_lost_offers(*, now: datetime) -> None:
    """Free agents from offers Twilio never reported on (a lost <Dial> action)."""
    QueueOffer.objects.filter(closed_at__isnull=True, expires_at__lt=now).update(
        closed_at=now, result=OfferResult.EXPIRED
    )


def _close_offers(
    caller: QueueCaller, *, result: OfferResult, now: datetime, answered_by: Agent | None = None
) -> None:
    ringing = QueueOffer.objects.filter(caller=caller, closed_at__isnull=True)
    if answered_by is not None:
        ringing.filter(agent=answered_by).update(closed_at=now, result=OfferResult.ANSWERED)
    ringing.update(closed_at=now, result=result)


def _end_wait(
    caller: QueueCaller, *, outcome: CallerOutcome, at: datetime, agent: Agent | None = None
) -> None:
    ended_at = max(at, caller.arrived_at)
    caller.outcome = outcome
    caller.ended_at = ended_at
    caller.wait_seconds = round((ended_at - caller.arrived_at).total_seconds())
    caller.agent = agent
    caller.save(update_fields=["outcome", "ended_at", "wait_seconds", "agent"])


@transaction.atomic
def queue_caller_answered(*, call_sid: str, identity: str, at: datetime) -> None:
    """The agent `identity` answered the waiting caller: her wait ends, her offers close.

    Safe to repeat: a caller no longer waiting is left as she is.
    """
    caller = (
        QueueCaller.objects.select_for_update()
        .filter(call_sid=call_sid, outcome=CallerOutcome.WAITING)
        .first()
    )
    agent = Agent.objects.filter(identity=identity).first() if caller is not None else None
    if caller is None or agent is None:
        return
    _close_offers(caller, result=OfferResult.NOT_ANSWERED, now=at, answered_by=agent)
    _end_wait(caller, outcome=CallerOutcome.ANSWERED, at=at, agent=agent)


@transaction.atomic
def queue_caller_left(*, call_sid: str, at: datetime) -> None:
    """The caller hung up: a wait still going on is abandoned, with its length."""
    caller = (
        QueueCaller.objects.select_for_update()
        .filter(call_sid=call_sid, outcome=CallerOutcome.WAITING)
        .first()
    )
    if caller is None:
        return
    _close_offers(caller, result=OfferResult.CALLER_LEFT, now=at)
    _end_wait(caller, outcome=CallerOutcome.ABANDONED, at=at)


@transaction.atomic
def queue_dial_not_answered(*, call_sid: str, now: datetime) -> None:
    """The caller's <Dial> rang out: the agents it rang are free for other callers."""
    caller = QueueCaller.objects.filter(call_sid=call_sid).first()
    if caller is not None:
        _close_offers(caller, result=OfferResult.NOT_ANSWERED, now=now)


def queue_wrap_up_start(*, call_sid: str, identity: str, at: datetime) -> None:
    """The answered queue call ended: its agent wraps up for the queue's wrap-up time.

    Once per call, whichever of the agent leg's `completed` callback and the <Dial> action
    comes first.
    """
    caller = (
        QueueCaller.objects.filter(
            call_sid=call_sid, outcome=CallerOutcome.ANSWERED, agent__identity=identity
        )
        .select_related("queue", "agent")
        .first()
    )
    if caller is None or caller.queue.wrap_up_seconds == 0:
        return
    WrapUp.objects.get_or_create(
        caller=caller,
        defaults={
            "agent": caller.agent,
            "started_at": at,
            "ends_at": at + timedelta(seconds=caller.queue.wrap_up_seconds),
        },
    )


def queue_leg_status_before(*, callback: TwilioCallback) -> None:
    """Before the call table applies an agent's leg's final status: her wrap-up starts.

    First, so that no moment exists when her call has ended and her wrap-up has not begun,
    in which another process could offer her a call.
    """
    identity = _agent_on_child_leg(callback)
    if identity is not None and callback.parent_call_sid is not None and callback.is_terminal:
        queue_wrap_up_start(
            call_sid=callback.parent_call_sid, identity=identity, at=callback.timestamp
        )


def queue_leg_status_after(*, callback: TwilioCallback) -> None:
    """After the call table applied a status: the agent's leg answered (the wait ends, her
    offer closes once her leg counts as a call), or the caller's own leg ended while she
    waited (abandoned). Any other leg costs one read: the status callback is a hot path."""
    if callback.parent_call_sid is None:
        if callback.is_terminal and _is_waiting(callback.call_sid):
            queue_caller_left(call_sid=callback.call_sid, at=callback.timestamp)
        return
    identity = _agent_on_child_leg(callback)
    if (
        identity is not None
        and callback.status == CallStatus.IN_PROGRESS
        and _is_waiting(callback.parent_call_sid)
    ):
        queue_caller_answered(
            call_sid=callback.parent_call_sid, identity=identity, at=callback.timestamp
        )


def _agent_on_child_leg(callback: TwilioCallback) -> str | None:
    if callback.parent_call_sid is None:
        return None
    return agent_identity_on_leg(
        direction=callback.direction,
        from_address=callback.from_address,
        to_address=callback.to_address,
    )


def _is_waiting(call_sid: str) -> bool:
    return QueueCaller.objects.filter(call_sid=call_sid, outcome=CallerOutcome.WAITING).exists()


def queue_apply_dial_action(*, action: DialAction, now: datetime, call_goes_on: bool) -> None:
    """A queue's <Dial> ended: rang out (the agents are free again), or the call it bridged
    ended (answered, if no callback said so, and the agent's wrap-up starts). A call the
    conference hub moved into a conference goes on (`call_goes_on`): the wrap-up then waits
    for the agent's leg to end."""
    call_sid = action.callback.call_sid
    if action.returns_to_queue:
        queue_dial_not_answered(call_sid=call_sid, now=now)
        return
    if action.nobody_answered or not action.dial_call_duration:
        return
    identity = _answering_identity(action)
    if identity is None:
        return
    talk = timedelta(seconds=action.dial_call_duration)
    queue_caller_answered(call_sid=call_sid, identity=identity, at=now - talk)
    if not call_goes_on:
        queue_wrap_up_start(call_sid=call_sid, identity=identity, at=now)


def _answering_identity(action: DialAction) -> str | None:
    """The agent on the leg that answered: the call table's, else the one agent rung."""
    if action.dial_call_sid is not None:
        identity = (
            Call.objects.filter(sid=action.dial_call_sid, agent__isnull=False)
            .values_list("agent__identity", flat=True)
            .first()
        )
        if identity is not None:
            return identity
    return action.offered[0] if len(action.offered) == 1 else None
