"""Twilio's identifiers and addresses: SIDs, client identities, E.164 numbers, dates.

The one place these rules live. No Django imports, so that settings, validators, model
constraints and webhook parsing can all use it.
"""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import phonenumbers

# SID prefixes we use, with the resource each names (in messages).
SID_RESOURCES = {
    "AC": "account",
    "AP": "TwiML App",
    "CA": "call",
    "CF": "conference",
    "CR": "push credential",
    "NO": "debugger event",
    "PN": "phone number",
    "RE": "recording",
    "SK": "API key",
}


def sid_regex(prefix: str) -> str:
    """The anchored pattern of a SID: two-letter prefix and 32 lowercase hex digits.

    Anchored with ^ and $ so that database check constraints can use it as it is.
    """
    if prefix not in SID_RESOURCES:
        raise ValueError(f"unknown SID prefix {prefix!r}")
    return rf"^{prefix}[0-9a-f]{{32}}$"


def is_sid(value: str, *, prefix: str) -> bool:
    """Tell whether value is a SID of the resource with this prefix."""
    return re.fullmatch(sid_regex(prefix)[1:-1], value) is not None


def sid_error(*, name: str, prefix: str) -> str:
    """The message for a value that should have been a SID with this prefix."""
    return f"{name} must be '{prefix}' followed by 32 lowercase hex digits."


CALL_SID_REGEX = sid_regex("CA")


def is_call_sid(value: str) -> bool:
    return is_sid(value, prefix="CA")


def is_account_sid(value: str) -> bool:
    return is_sid(value, prefix="AC")


def is_conference_sid(value: str) -> bool:
    return is_sid(value, prefix="CF")


# Twilio Voice client identities: letters, digits and underscore, at most 121 characters.
IDENTITY_MAX_LENGTH = 121
IDENTITY_REGEX = rf"^[A-Za-z0-9_]{{1,{IDENTITY_MAX_LENGTH}}}$"


def is_identity(value: str) -> bool:
    """Tell whether value is a client identity Twilio accepts."""
    return re.fullmatch(IDENTITY_REGEX[1:-1], value) is not None


# E.164: a plus, a country code that never starts with 0, at most 15 digits in all. ASCII
# digits only: \d would also let Arabic-Indic and other digits through.
E164_REGEX = r"^\+[1-9][0-9]{1,14}$"
# The longest E.164 number with its plus.
E164_MAX_LENGTH = 16


def is_e164(value: str) -> bool:
    """Tell whether value is a valid phone number written in E.164 (+ and digits only)."""
    if re.fullmatch(E164_REGEX[1:-1], value) is None:
        return False
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


# What Twilio puts in From when the caller withheld her number: a word, or the word spelt
# on a keypad as a number (+266696687 is ANONYMOUS, +86282452253 UNAVAILABLE, +8656696
# UNKNOWN, +2562533 BLOCKED, +7378742833 RESTRICTED).
WITHHELD_CALLER_NUMBERS = frozenset(
    {"+266696687", "+86282452253", "+8656696", "+2562533", "+7378742833"}
)


def is_known_caller(address: str) -> bool:
    """Tell whether a From is a caller's real phone number: valid E.164 and not one of the
    stand-ins Twilio puts there for a withheld number."""
    return address not in WITHHELD_CALLER_NUMBERS and is_e164(address)


# A prefix of E.164 numbers: the plus, a country code's first digit, up to 15 digits.
E164_PREFIX_REGEX = r"^\+[1-9][0-9]{0,14}$"


def is_e164_prefix(value: str) -> bool:
    """Tell whether value is the start of E.164 numbers (+ and at least one digit)."""
    return re.fullmatch(E164_PREFIX_REGEX[1:-1], value) is not None


def e164_from_typed(value: str, *, region: str) -> str | None:
    """The E.164 form of a phone number as a person types it, None if it is not a valid one.

    Accepts E.164 with spaces or punctuation (`+1 415 555 0100`) and national formats of
    `region` (an ISO country code, e.g. `(415) 555-0100` for US).
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# What people and address books put around the digits of a number.
_DIALLED_NUMBER_CHARACTERS = re.compile(r"[0-9 ().-]+")


def e164_from_dialled(value: str, *, region: str) -> str | None:
    """The E.164 form of a number as apps send what was dialled; None if it is no valid one.

    Everything e164_from_typed reads, and digits that begin with a country code but lack
    the plus (`919326002507`), as mobile apps pass numbers from the address book.
    """
    number = e164_from_typed(value, region=region)
    if number is None and _DIALLED_NUMBER_CHARACTERS.fullmatch(value):
        number = e164_from_typed("+" + value, region=region)
    return number


# A Voice SDK client in From/To is written client:<identity>.
CLIENT_PREFIX = "client:"
# The direction of the child leg <Dial> creates: its To is the party dialled.
DIAL_CHILD_DIRECTION = "outbound-dial"


def is_web_url(value: str) -> bool:
    """Tell whether value is an absolute http or https URL with a host: the only URLs from
    Twilio (such as ErrorUrl) we keep and link to. Any other scheme (javascript:, data:)
    would run in the page of whoever clicks it."""
    return re.match(r"https?://[^/?#\s]", value, flags=re.IGNORECASE) is not None and not any(
        character.isspace() or ord(character) < 32 for character in value
    )


def client_address(identity: str) -> str:
    """The address Twilio uses for a client identity in From and To."""
    return f"{CLIENT_PREFIX}{identity}"


def client_identity(address: str) -> str | None:
    """Return the identity in a 'client:<identity>' address, None for anything else."""
    if address.startswith(CLIENT_PREFIX) and len(address) > len(CLIENT_PREFIX):
        return address[len(CLIENT_PREFIX) :]
    return None


def agent_identity_on_leg(
    *, direction: str | None, from_address: str, to_address: str
) -> str | None:
    """Name our client on a leg: the one dialled on a <Dial> child, else the caller."""
    addresses = [from_address, to_address]
    if direction == DIAL_CHILD_DIRECTION:
        addresses.reverse()
    for address in addresses:
        identity = client_identity(address)
        if identity is not None:
            return identity
    return None


def parse_twilio_datetime(value: str | None) -> datetime | None:
    """Parse Twilio's RFC 2822 dates ('Mon, 23 Nov 2026 18:30:45 +0000') into UTC; None when
    empty.

    Raises ValueError for text that is not such a date. Any offset Python reads is converted
    here, so that no offset PostgreSQL would refuse (16 hours or more) reaches it.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as error:
        raise ValueError(f"not an RFC 2822 date: {value!r}") from error
    if parsed.tzinfo is None:
        raise ValueError(f"RFC 2822 date without a zone: {value!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"not a date Twilio could send: {value!r}") from error


# No Twilio call is older than this: Twilio Voice opened in 2008.
TWILIO_EPOCH = datetime(2008, 1, 1, tzinfo=UTC)
# Twilio's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
# Twilio ends every call after its TimeLimit, at most 24 hours (the default is 4 hours).
MAX_CALL_DURATION_SECONDS = 24 * 60 * 60


def is_plausible_call_time(value: datetime, *, now: datetime) -> bool:
    """Tell whether value can be a time Twilio reports about a call: after Twilio Voice
    began and not later than `now`, give or take CLOCK_SKEW."""
    return TWILIO_EPOCH <= value <= now + CLOCK_SKEW


def parse_twilio_count(value: str) -> int | None:
    """Read a whole number Twilio sends (a duration, a sequence number, a channel count);
    None when it is empty or negative.

    Twilio writes -1 for a count it does not know yet, such as the duration of a recording
    still in progress: unknown, never wrong. Raises ValueError for anything but ASCII digits
    with an optional minus.
    """
    if value == "":
        return None
    digits = value.removeprefix("-")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"not a whole number: {value[:40]!r}")
    return None if value.startswith("-") else int(digits)


def is_plausible_call_duration(seconds: int) -> bool:
    """Tell whether a call can have lasted this many seconds."""
    return 0 <= seconds <= MAX_CALL_DURATION_SECONDS
