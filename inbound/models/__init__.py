"""Each part of the inbound flow keeps its models in a module of its own."""

from inbound.models.blocklist import BlockedCaller
from inbound.models.hours import Holiday, NumberHours, Schedule, WeeklyInterval
from inbound.models.menus import Menu, MenuOption

__all__ = [
    "BlockedCaller",
    "Holiday",
    "Menu",
    "MenuOption",
    "NumberHours",
    "Schedule",
    "WeeklyInterval",
]
