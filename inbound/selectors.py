"""Reads of the inbound flow for the Voice URL."""

from agents.models import PhoneNumber
from inbound.models import QueueNumber


def queue_id_for_number(*, number: PhoneNumber) -> int | None:
    """The queue whose callers the number sends to wait, if any."""
    return QueueNumber.objects.filter(number=number).values_list("queue_id", flat=True).first()
