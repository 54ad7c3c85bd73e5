"""Participant labels: who a conference participant is, without personal data.

`customer`, `agent:<identity>`, `supervisor:<identity>`, and `party:<n>` for a phone number
the hub added (a transfer or a third party). The one place labels are made and read.
"""

from calls.constants import PartyRole
from voiceproject.twilio_ids import client_identity, is_call_sid, is_identity

CUSTOMER = "customer"


def agent_label(identity: str) -> str:
    return f"{PartyRole.AGENT}:{identity}"


def supervisor_label(identity: str) -> str:
    return f"{PartyRole.SUPERVISOR}:{identity}"


def party_label(number: int) -> str:
    return f"{PartyRole.PARTY}:{number}"


def label_of_leg(address: str) -> str:
    """The label of a leg our <Dial> connected: an agent's softphone, or the customer."""
    identity = client_identity(address)
    return agent_label(identity) if identity is not None else CUSTOMER


def role_and_identity(label: str) -> tuple[PartyRole, str]:
    """Who a label names; a label the hub did not write is another party."""
    if label == CUSTOMER:
        return PartyRole.CUSTOMER, ""
    kind, _, rest = label.partition(":")
    if kind in (PartyRole.AGENT, PartyRole.SUPERVISOR) and is_identity(rest):
        return PartyRole(kind), rest
    return PartyRole.PARTY, ""


def hub_name(family_sid: str) -> str:
    """The conference's friendly name: the family's parent CallSid, which is no personal
    data and makes the name unique per family."""
    return f"hub-{family_sid}"


def family_of_hub_name(name: str) -> str | None:
    prefix, _, sid = name.partition("-")
    return sid if prefix == "hub" and is_call_sid(sid) else None
