"""Reads of the inbound flow: the Voice URL's, and the live board's."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min

from agents.models import PhoneNumber
from inbound.models import CallerOutcome, Queue, QueueCaller, QueueMember, QueueNumber, WrapUp


def queue_id_for_number(*, number: PhoneNumber) -> int | None:
    """The queue whose callers the number sends to wait, if any (read with the number:
    select_related("queue_link"))."""
    try:
        return number.queue_link.queue_id
    except QueueNumber.DoesNotExist:
        return None


@dataclass(frozen=True)
class QueueNow:
    """A queue on the live board: its callers waiting and its members wrapping up."""

    name: str
    waiting: int
    longest_waiting_since: datetime | None  # the arrival of the caller waiting longest
    wrapping_up: list[str]  # identities


def queues_now(*, now: datetime) -> list[QueueNow]:
    """Every queue with its callers waiting, the longest wait and its members in wrap-up;
    three queries however many queues."""
    waiting = {
        row["queue_id"]: row
        for row in QueueCaller.objects.filter(outcome=CallerOutcome.WAITING)
        .values("queue_id")
        .annotate(count=Count("id"), since=Min("arrived_at"))
    }
    wrapping_up: dict[int, set[str]] = {}
    for queue_id, identity in QueueMember.objects.filter(
        agent__wrap_ups__ends_at__gt=now
    ).values_list("queue_id", "agent__identity"):
        wrapping_up.setdefault(queue_id, set()).add(identity)
    return [
        QueueNow(
            name=queue.name,
            waiting=waiting[queue.pk]["count"] if queue.pk in waiting else 0,
            longest_waiting_since=waiting[queue.pk]["since"] if queue.pk in waiting else None,
            wrapping_up=sorted(wrapping_up.get(queue.pk, ())),
        )
        for queue in Queue.objects.order_by("name")
    ]


def wrap_ups_now(*, now: datetime) -> dict[int, datetime]:
    """Agent id → when her wrap-up going on ends."""
    return dict(
        WrapUp.objects.filter(ends_at__gt=now)
        .values("agent_id")
        .annotate(until=Max("ends_at"))
        .values_list("agent_id", "until")
    )
