"""Each part of the inbound flow keeps its models in a module of its own."""

from inbound.models.blocklist import BlockedCaller
from inbound.models.hours import Holiday, NumberHours, Schedule, WeeklyInterval
from inbound.models.menus import Menu, MenuOption
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
    "BlockedCaller",
    "CallerOutcome",
    "Holiday",
    "Menu",
    "MenuOption",
    "NumberHours",
    "OfferResult",
    "Queue",
    "QueueCaller",
    "QueueMember",
    "QueueNumber",
    "QueueOffer",
    "QueueRouting",
    "Schedule",
    "WeeklyInterval",
    "WrapUp",
]
