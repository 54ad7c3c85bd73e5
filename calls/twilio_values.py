"""Read the values Twilio sends (webhook form fields and REST JSON alike)."""

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from calls.constants import CallDirection

# Also the call table's check constraint, hence the anchors.
CALL_SID_REGEX = r"^CA[0-9a-f]{32}$"
CALL_SID_PATTERN = re.compile(CALL_SID_REGEX)
ACCOUNT_SID_PATTERN = re.compile(r"AC[0-9a-f]{32}")
CLIENT_PREFIX = "client:"


def is_call_sid(value: str) -> bool:
    return bool(CALL_SID_PATTERN.fullmatch(value))


def client_identity(address: str) -> str | None:
    """Return the identity in a 'client:<identity>' address, None for anything else."""
    if address.startswith(CLIENT_PREFIX) and len(address) > len(CLIENT_PREFIX):
        return address[len(CLIENT_PREFIX) :]
    return None


def parse_twilio_datetime(value: str | None) -> datetime | None:
    """Parse Twilio's RFC 2822 dates ('Mon, 23 Nov 2026 18:30:45 +0000'); None when empty.

    Raises ValueError for text that is not such a date.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as error:
        raise ValueError(f"not an RFC 2822 date: {value!r}") from error
    if parsed.tzinfo is None:
        raise ValueError(f"RFC 2822 date without a zone: {value!r}")
    return parsed


def agent_identity_on_leg(
    *, direction: str | None, from_address: str, to_address: str
) -> str | None:
    """Name our client on a leg: the one dialled on a <Dial> child, else the caller."""
    addresses = [from_address, to_address]
    if direction == CallDirection.OUTBOUND_DIAL:
        addresses.reverse()
    for address in addresses:
        identity = client_identity(address)
        if identity is not None:
            return identity
    return None
