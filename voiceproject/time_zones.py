"""The time zones the server and its users may choose: the only place that knows the rule.

A zone is one of the IANA names zoneinfo knows (Europe/Paris, Asia/Tokyo, UTC), for the
server's TIME_ZONE and for each user's own alike.
"""

from datetime import datetime, timedelta, tzinfo
from zoneinfo import available_timezones

TIME_ZONE_NAMES = tuple(sorted(available_timezones()))
_KNOWN = frozenset(TIME_ZONE_NAMES)


def is_time_zone(name: str) -> bool:
    """Whether `name` is a time zone this server can show times in."""
    return name in _KNOWN


def zone_abbreviations(zone: tzinfo, *, around: datetime) -> dict[str, str]:
    """The names a zone goes by within a year of `around`, by UTC offset ("+01:00": "CET",
    "+02:00": "CEST"): what a browser needs to name the zone of a time as the server does
    (Django's "T"), having only the time's offset."""
    names = {}
    for weeks in range(-53, 54):
        local = (around + timedelta(weeks=weeks)).astimezone(zone)
        names[local.isoformat()[-6:]] = local.tzname() or ""
    return names
