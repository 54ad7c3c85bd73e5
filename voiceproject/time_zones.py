"""The time zones the server and its users may choose: the only place that knows the rule.

A zone is one of the IANA names zoneinfo knows (Europe/Paris, Asia/Tokyo, UTC), for the
server's TIME_ZONE and for each user's own alike.
"""

from zoneinfo import available_timezones

TIME_ZONE_NAMES = tuple(sorted(available_timezones()))
_KNOWN = frozenset(TIME_ZONE_NAMES)


def is_time_zone(name: str) -> bool:
    """Whether `name` is a time zone this server can show times in."""
    return name in _KNOWN
