"""Read Twilio's request to a menu's <Gather> action: the keys pressed or the words said,
and which menu and attempt it answers (written by us into the action URL)."""

import re
from dataclasses import dataclass
from datetime import datetime

from calls.deliveries.calls import InvalidCallback, TwilioCallback, parse_twilio_callback

# What <Gather> sends as Digits: the keys of a phone, none when the caller pressed nothing.
DIGITS_PATTERN = re.compile(r"[0-9*#]{0,64}")
# Far longer than anything a caller says before <Gather>'s speech timeout.
SPEECH_MAX_LENGTH = 2000
# More attempts than a menu may repeat is not a URL we wrote.
ATTEMPT_MAX = 10


@dataclass(frozen=True)
class MenuAnswer:
    """The caller's answer to one playing of a menu; digits and speech are empty when the
    caller said nothing before the timeout."""

    callback: TwilioCallback
    menu_id: int
    attempt: int
    digits: str
    speech: str

    @property
    def account_sid(self) -> str:
        return self.callback.account_sid


def parse_menu_answer(
    form: dict[str, str], query: dict[str, str], *, received_at: datetime
) -> MenuAnswer:
    """Read the action request; raise InvalidCallback naming the first bad field."""
    callback = parse_twilio_callback(form, received_at=received_at, takes_parent=False)
    digits = form.get("Digits", "")
    if DIGITS_PATTERN.fullmatch(digits) is None:
        raise InvalidCallback("Digits holds something other than the keys of a phone.")
    speech = form.get("SpeechResult", "")
    if len(speech) > SPEECH_MAX_LENGTH:
        raise InvalidCallback(f"SpeechResult is longer than {SPEECH_MAX_LENGTH} characters.")
    return MenuAnswer(
        callback=callback,
        menu_id=_query_number(query, "menu", maximum=2**31 - 1),
        attempt=_query_number(query, "attempt", maximum=ATTEMPT_MAX),
        digits=digits,
        speech=speech,
    )


def _query_number(query: dict[str, str], name: str, *, maximum: int) -> int:
    value = query.get(name, "")
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise InvalidCallback(f"{name} in the URL is not a number from 1 to {maximum}.")
    return int(value)
