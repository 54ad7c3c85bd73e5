"""Each part of the inbound flow keeps its models in a module of its own."""

from inbound.models.hours import Holiday, NumberHours, Schedule, WeeklyInterval
from inbound.models.menus import Menu, MenuOption

__all__ = ["Holiday", "Menu", "MenuOption", "NumberHours", "Schedule", "WeeklyInterval"]
