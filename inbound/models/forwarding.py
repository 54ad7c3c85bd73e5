"""The forward number the closed action and menu options share, with its rules."""

from django.db import models
from django.db.models.expressions import Combinable

from agents.validators import validate_e164
from inbound.validators import validate_not_our_number
from voiceproject.twilio_ids import E164_MAX_LENGTH, E164_REGEX


def forward_to_field(*, help_text: str) -> models.CharField[str | int | Combinable, str]:
    """An E.164 number outside this server, empty unless the forward action is chosen."""
    return models.CharField(
        max_length=E164_MAX_LENGTH,
        blank=True,
        validators=[validate_e164, validate_not_our_number],
        help_text=help_text,
    )


def forward_to_constraints(prefix: str, *, forwarding: models.Q) -> list[models.CheckConstraint]:
    """E.164 or empty, and set whenever `forwarding` holds."""
    return [
        models.CheckConstraint(
            condition=models.Q(forward_to="") | models.Q(forward_to__regex=E164_REGEX),
            name=f"{prefix}_forward_to_e164",
        ),
        models.CheckConstraint(
            condition=~forwarding | ~models.Q(forward_to=""),
            name=f"{prefix}_forward_has_number",
            violation_error_message="Forwarding needs a number to forward to.",
        ),
    ]
