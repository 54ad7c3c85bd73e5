"""The blocklist: the first step of a call from the phone network. A caller whose number is
on it, or starts with a prefix on it, hears a busy signal; nothing rings, Twilio bills
nothing, and the family's outcome is `blocked`.

A withheld number never matches: the stand-ins Twilio puts in From for it (+266696687...)
look like numbers a prefix could catch.
"""

from django.db.models import Q
from django.db.models.functions import Length
from twilio.twiml.voice_response import VoiceResponse

from calls.call_table import call_mark_blocked
from calls.constants import TERMINAL_STATUSES, FamilyKind
from calls.models import Call
from inbound.models import BlockedCaller
from voiceproject.twilio_ids import is_known_caller


def blocked_caller_for(caller_number: str) -> BlockedCaller | None:
    """The entry that blocks this caller (her number, or its longest prefix listed), if any."""
    if not is_known_caller(caller_number):
        return None
    prefixes = [caller_number[:length] for length in range(2, len(caller_number) + 1)]
    return (
        BlockedCaller.objects.filter(
            Q(number=caller_number) | Q(is_prefix=True, number__in=prefixes)
        )
        .order_by("is_prefix", Length("number").desc())
        .first()
    )


def twiml_if_blocked(*, call_sid: str, caller_number: str) -> str | None:
    """Reject the call with a busy signal when its caller is blocked, marking its family
    blocked; None when the call goes on."""
    if blocked_caller_for(caller_number) is None:
        return None
    call_mark_blocked(sid=call_sid)
    response = VoiceResponse()
    response.reject(reason="busy")
    return str(response)


def caller_blockable(parent: Call) -> bool:
    """Whether the caller of this family may be blocked from its page: a customer's call,
    over, from a number she did not withhold and that is not blocked yet."""
    return (
        parent.kind == FamilyKind.INBOUND
        and parent.status in TERMINAL_STATUSES
        and is_known_caller(parent.from_number)
        and blocked_caller_for(parent.from_number) is None
    )


def blocklist_add(*, number: str, reason: str, added_by_id: int | None) -> BlockedCaller:
    """Block calls from this number; a number already listed keeps its entry."""
    entry, _ = BlockedCaller.objects.get_or_create(
        number=number, defaults={"reason": reason, "added_by_id": added_by_id}
    )
    return entry
