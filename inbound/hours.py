"""Whether a number is open, and what its callers get when it is not.

The decision is one pure function, is_open_at, of a schedule's hours (read once into an
OpeningHours value) and an instant: the instant is turned into the schedule's local date and
wall-clock time by zoneinfo, so daylight-saving changes are the zone's business. On the day
clocks go forward, an interval around the skipped hour is open for an hour less; on the day
they go back, for an hour more.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.utils import timezone

from agents.models import PhoneNumber
from calls.webhooks.ringing import WebhookUrls, spoken
from calls.webhooks.unanswered import forwarded_or_voicemail, voicemail
from inbound.constants import ClosedAction
from inbound.models import NumberHours, Schedule
from inbound.models.hours import MIDNIGHT
from voiceproject.time_zones import is_time_zone

logger = logging.getLogger(__name__)

CLOSED_MESSAGE = "We are closed right now. Please call again during our opening hours."
CLOSED_VOICEMAIL_GREETING = (
    "We are closed right now. Please leave a message after the tone, and we will call you back."
)


@dataclass(frozen=True)
class OpeningHours:
    """A schedule as the decision needs it: its zone, each weekday's (opens, closes) local
    times (closes at 00:00 meaning the end of the day) and its holidays."""

    zone: ZoneInfo
    intervals: frozenset[tuple[int, time, time]]
    holidays: frozenset[date]


def is_open_at(hours: OpeningHours, instant: datetime) -> bool:
    """Whether the schedule is open at this (aware) instant."""
    local = instant.astimezone(hours.zone)
    if local.date() in hours.holidays:
        return False
    now = local.time().replace(tzinfo=None)
    return any(
        weekday == local.weekday() and opens <= now and (closes == MIDNIGHT or now < closes)
        for weekday, opens, closes in hours.intervals
    )


def first_overlap(
    intervals: list[tuple[int, time, time]],
) -> tuple[tuple[int, time, time], tuple[int, time, time]] | None:
    """Two intervals of one weekday that share a moment, if any (touching ones do not)."""
    ordered = sorted(intervals)
    for earlier, later in pairwise(ordered):
        weekday, _, closes = earlier
        if later[0] == weekday and (closes == MIDNIGHT or later[1] < closes):
            return earlier, later
    return None


def opening_hours_of(schedule: Schedule) -> OpeningHours | None:
    """Read the schedule's intervals and holidays (two queries); None when this server's
    zoneinfo no longer knows its zone (renamed in a tzdata update)."""
    if not is_time_zone(schedule.time_zone):
        return None
    return OpeningHours(
        zone=ZoneInfo(schedule.time_zone),
        intervals=frozenset(schedule.intervals.values_list("weekday", "opens_at", "closes_at")),
        holidays=frozenset(schedule.holidays.values_list("date", flat=True)),
    )


def twiml_if_closed(*, phone_number: PhoneNumber, caller_number: str, urls: WebhookUrls) -> str:
    """The closed action's TwiML when the number keeps hours and is closed now; empty when
    it is open or keeps none (read with the number: select_related("hours__schedule"))."""
    try:
        hours = phone_number.hours
    except NumberHours.DoesNotExist:
        return ""
    opening_hours = opening_hours_of(hours.schedule)
    if opening_hours is None:
        # Better to ring than to turn every caller away until a supervisor notices.
        logger.warning("Schedule %s has an unknown time zone; ringing", hours.schedule_id)
        return ""
    if is_open_at(opening_hours, timezone.now()):
        return ""
    if hours.closed_action == ClosedAction.MESSAGE:
        return str(spoken(hours.closed_greeting or CLOSED_MESSAGE))
    greeting = hours.closed_greeting or CLOSED_VOICEMAIL_GREETING
    if hours.closed_action == ClosedAction.FORWARD:
        return str(
            forwarded_or_voicemail(
                phone_number, hours.forward_to, urls, caller=caller_number, greeting=greeting
            )
        )
    return str(voicemail(phone_number, urls, greeting=greeting))
