"""Reads of Twilio's error reports for the call's page, the admin and the setup doctor."""

from datetime import date, datetime

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate

from calls.models import Call, TwilioError


def twilio_errors_of_legs(*, legs: list[Call]) -> list[TwilioError]:
    """The errors Twilio reported about these legs, oldest first; by SID too, for an error
    that arrived before its leg was stored."""
    about_legs = Q(call__in=legs) | Q(resource_sid__in=[leg.sid for leg in legs])
    return list(TwilioError.objects.filter(about_legs).order_by("occurred_at", "id"))


def twilio_error_counts_by_day(*, since: datetime) -> list[tuple[date, int, int]]:
    """(UTC day, code, how many) since then, latest day first, most frequent code first."""
    rows = (
        TwilioError.objects.filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "code")
        .annotate(errors=Count("id"))
        .order_by("-day", "-errors", "code")
    )
    return [(row["day"], row["code"], row["errors"]) for row in rows]


def twilio_error_counts_by_code(*, since: datetime) -> list[tuple[int, int, datetime]]:
    """(code, how many, last seen) since then, most frequent first."""
    rows = (
        TwilioError.objects.filter(occurred_at__gte=since)
        .values("code")
        .annotate(errors=Count("id"), last=Max("occurred_at"))
        .order_by("-errors", "code")
    )
    return [(row["code"], row["errors"], row["last"]) for row in rows]
