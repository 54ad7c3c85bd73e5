from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from voiceproject.twilio_ids import E164_MAX_LENGTH, E164_PREFIX_REGEX, is_e164, is_e164_prefix

BLOCK_REASON_MAX_LENGTH = 200


class BlockedCaller(models.Model):
    """A phone number, or the first digits of numbers, whose calls are rejected with a busy
    signal before anything rings (inbound.blocklist)."""

    number = models.CharField(
        max_length=E164_MAX_LENGTH,
        unique=True,
        help_text="In E.164 (+14155550123); with “prefix”, the first digits of the numbers "
        "to block (+1900).",
    )
    is_prefix = models.BooleanField(
        "prefix", default=False, help_text="Block every number that starts with these digits."
    )
    reason = models.CharField(max_length=BLOCK_REASON_MAX_LENGTH)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__regex=E164_PREFIX_REGEX), name="blockedcaller_number_format"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="blockedcaller_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.number}…" if self.is_prefix else self.number

    def clean(self) -> None:
        if self.is_prefix:
            if not is_e164_prefix(self.number):
                raise ValidationError(
                    {"number": "A prefix is a plus and the first digits of numbers (+1900)."}
                )
        elif not is_e164(self.number):
            raise ValidationError({"number": "Enter a valid phone number in E.164 (+14155550123)."})
