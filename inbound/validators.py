"""Validators for what supervisors type into the inbound steps."""

from django.core.exceptions import ValidationError

from agents.models import PhoneNumber, forward_loop_message


def validate_not_our_number(value: str) -> None:
    """Refuse forwarding to one of our own numbers, as the unanswered-call policy does: it
    would come back to our agents, or to this very step."""
    if PhoneNumber.objects.filter(number=value).exists():
        raise ValidationError(forward_loop_message(value), code="forward_loop")
