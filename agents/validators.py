"""Validators for what users and supervisors type: Twilio identifiers (rules: twilio_ids) and
time zones (rule: time_zones)."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from voiceproject.time_zones import is_time_zone
from voiceproject.twilio_ids import IDENTITY_REGEX, SID_RESOURCES, is_e164, sid_regex

validate_identity = RegexValidator(
    regex=IDENTITY_REGEX.replace("^", r"\A").replace("$", r"\Z"),
    message="A Twilio client identity may contain only letters, digits and underscores.",
    code="invalid_identity",
)


def sid_validator(prefix: str) -> RegexValidator:
    """Build a validator for a Twilio SID with this prefix."""
    return RegexValidator(
        regex=sid_regex(prefix).replace("^", r"\A").replace("$", r"\Z"),
        message=f"A {SID_RESOURCES[prefix]} SID is '{prefix}' followed by 32 lowercase hex digits.",
        code="invalid_sid",
    )


validate_application_sid = sid_validator("AP")
validate_push_credential_sid = sid_validator("CR")


def validate_e164(value: str) -> None:
    """Refuse anything Twilio would not accept as a phone number in To, From or callerId."""
    if not is_e164(value):
        raise ValidationError(
            "Enter a valid phone number in E.164 format, for example +14155550100.",
            code="invalid_e164",
        )


def validate_time_zone(value: str) -> None:
    """Refuse a time zone the server does not know (the rule of TIME_ZONE)."""
    if not is_time_zone(value):
        raise ValidationError(
            "Choose a time zone by its IANA name, for example Europe/Paris.",
            code="invalid_time_zone",
        )
