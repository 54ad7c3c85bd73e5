"""Business hours: weekly opening times in a time zone, holidays, and what a number does
when it is closed."""

from datetime import time

from django.db import models

from agents.models import PhoneNumber
from agents.validators import validate_time_zone
from inbound.constants import ClosedAction
from inbound.models.forwarding import forward_to_constraints, forward_to_field

# A closing time of 00:00 is the midnight that ends the day, so a day can be open to its end.
MIDNIGHT = time(0)


class Weekday(models.IntegerChoices):
    """Days as Python's date.weekday() counts them."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class Schedule(models.Model):
    """Opening hours in local time of one zone, shared by any numbers that keep them.

    Times are wall-clock times: the zone's daylight-saving rules decide which instants they
    are, so "09:00" stays nine in the morning all year.
    """

    name = models.CharField(max_length=64, unique=True)
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="IANA name of the zone the hours are in, for example Europe/Berlin.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"


class WeeklyInterval(models.Model):
    """One stretch of a weekday during which the schedule is open."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField(help_text="Local time, for example 09:00.")
    closes_at = models.TimeField(help_text="Local time; 00:00 is the midnight ending the day.")

    class Meta:
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__in=Weekday.values), name="weeklyinterval_weekday"
            ),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at"))
                | models.Q(closes_at=MIDNIGHT),
                name="weeklyinterval_closes_after_opening",
                violation_error_message="The closing time must be after the opening time "
                "(00:00 for midnight).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M} to {self.closes_at:%H:%M}"


class Holiday(models.Model):
    """A local date on which the schedule is closed all day."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "date"], name="holiday_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class NumberHours(models.Model):
    """The schedule a phone number keeps, and what its callers get when it is closed."""

    phone_number = models.OneToOneField(PhoneNumber, on_delete=models.CASCADE, related_name="hours")
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="numbers")
    closed_action = models.CharField(
        "when closed",
        max_length=9,
        choices=ClosedAction.choices,
        default=ClosedAction.MESSAGE,
    )
    closed_greeting = models.TextField(
        blank=True,
        help_text="Spoken as the message, or before the voicemail beep; a default when empty.",
    )
    forward_to = forward_to_field(
        help_text="E.164 number the forward action rings (a mobile, another office)."
    )

    class Meta:
        verbose_name = "number's hours"
        verbose_name_plural = "numbers' hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed_action__in=ClosedAction.values),
                name="numberhours_closed_action_valid",
            ),
            *forward_to_constraints(
                "numberhours", forwarding=models.Q(closed_action=ClosedAction.FORWARD)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number}: {self.schedule.name}"
