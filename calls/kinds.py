"""What kind of call a family is, read from its parent leg.

Derived here, in one place, until the call table stores each family's kind itself; then this
reads the stored field and nothing that asks for a kind changes.
"""

from calls.constants import CallDirection, CallKind
from calls.models import Call
from voiceproject.twilio_ids import client_identity, is_e164


def family_kind(parent: Call) -> CallKind:
    """Inbound: a phone called one of our numbers. Outbound: an agent dialled a phone
    number. Internal: an agent dialled another agent. Anything else: other."""
    if parent.direction != CallDirection.INBOUND:
        return CallKind.OTHER
    if client_identity(parent.from_number) is None:
        return CallKind.INBOUND if parent.from_number else CallKind.OTHER
    if is_e164(parent.to_number):
        return CallKind.OUTBOUND
    return CallKind.INTERNAL if parent.to_number else CallKind.OTHER
