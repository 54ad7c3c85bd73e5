"""Validators for the Twilio identifiers supervisors type into the admin."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

# Twilio Voice client identities: letters, digits and underscore, at most 121 characters.
IDENTITY_MAX_LENGTH = 121
# E.164: a plus, a country code that never starts with 0, at most 15 digits in all. ASCII
# digits only: \d would also let Arabic-Indic and other digits through.
E164_PATTERN = r"\+[1-9][0-9]{1,14}"

IDENTITY_PATTERN = re.compile(rf"[A-Za-z0-9_]{{1,{IDENTITY_MAX_LENGTH}}}")

validate_identity = RegexValidator(
    regex=r"\A[A-Za-z0-9_]+\Z",
    message="A Twilio client identity may contain only letters, digits and underscores.",
    code="invalid_identity",
)


def is_identity(value: str) -> bool:
    """Tell whether value is a client identity Twilio accepts."""
    return bool(IDENTITY_PATTERN.fullmatch(value))


def sid_validator(prefix: str, resource: str) -> RegexValidator:
    """Build a validator for a Twilio SID: two-letter prefix and 32 lowercase hex digits."""
    return RegexValidator(
        regex=rf"\A{prefix}[0-9a-f]{{32}}\Z",
        message=f"A {resource} SID is '{prefix}' followed by 32 lowercase hex digits.",
        code="invalid_sid",
    )


validate_application_sid = sid_validator("AP", "TwiML App")
validate_push_credential_sid = sid_validator("CR", "push credential")


def is_e164(value: str) -> bool:
    """Tell whether value is a valid phone number written in E.164 (+ and digits only)."""
    if not re.fullmatch(E164_PATTERN, value):
        return False
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def validate_e164(value: str) -> None:
    """Refuse anything Twilio would not accept as a phone number in To, From or callerId."""
    if not is_e164(value):
        raise ValidationError(
            "Enter a valid phone number in E.164 format, for example +14155550100.",
            code="invalid_e164",
        )
