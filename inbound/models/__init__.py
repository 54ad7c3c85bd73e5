"""Each part of the inbound flow keeps its models in a module of its own."""

from inbound.models.queues import (
    CallerOutcome,
    OfferResult,
    Queue,
    QueueCaller,
    QueueMember,
    QueueNumber,
    QueueOffer,
    QueueRouting,
    WrapUp,
)

__all__ = [
    "CallerOutcome",
    "OfferResult",
    "Queue",
    "QueueCaller",
    "QueueMember",
    "QueueNumber",
    "QueueOffer",
    "QueueRouting",
    "WrapUp",
]
