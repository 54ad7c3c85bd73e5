"""A caller to a queue's number, as Twilio's requests tell it: the Voice URL, the wait
loop, the agent's leg and the <Dial> action, each signed as Twilio signs them."""

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from django.utils import timezone

from tests.conftest import TEST_ACCOUNT_SID
from tests.twilio_requests import post_signed
from voiceproject.twilio_ids import client_address


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    return ET.fromstring(response.content)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def rung(document: ET.Element) -> list[str]:
    """The identities a <Dial> rings; [] when the document dials nobody."""
    dial = document.find("Dial")
    if dial is None:
        return []
    return [client.find("Identity").text for client in dial.findall("Client")]


def waits(document: ET.Element) -> bool:
    """The caller holds, then comes back to the wait loop."""
    redirect = document.find("Redirect")
    return (
        document.find("Play") is not None
        and redirect is not None
        and "/twilio/queue/wait/" in redirect.text
    )


@dataclass
class QueueCaller:
    """One caller from the phone network to `number`, whose calls a queue takes."""

    client: object
    number: str
    caller: str = "+12125550123"
    sid: str = field(default_factory=new_call_sid)
    next_path: str = ""
    agent_legs: dict[str, str] = field(default_factory=dict)

    def parameters(self, status: str) -> dict[str, str]:
        return {
            "AccountSid": TEST_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": status,
            "Direction": "inbound",
            "From": self.caller,
            "To": self.number,
            "Caller": self.caller,
            "Called": self.number,
        }

    def calls(self) -> ET.Element:
        """The Voice URL request; its TwiML sends the caller to the queue's wait loop."""
        document = twiml(post_signed(self.client, "/twilio/voice/", self.parameters("ringing")))
        return self.follow(document)

    def follow(self, document: ET.Element) -> ET.Element:
        """Remember where Twilio goes next: a <Redirect>, or the <Dial> action."""
        redirect = document.find("Redirect")
        dial = document.find("Dial")
        if redirect is not None:
            self.next_path = path_of(redirect.text)
        elif dial is not None:
            self.next_path = path_of(dial.attrib["action"])
        return document

    def waits_again(self) -> ET.Element:
        """Twilio requests the wait loop (after the music, or the first redirect)."""
        assert self.next_path.startswith("/twilio/queue/wait/"), self.next_path
        document = twiml(post_signed(self.client, self.next_path, self.parameters("in-progress")))
        return self.follow(document)

    def enters(self) -> ET.Element:
        """Call, then reach the wait loop."""
        self.calls()
        return self.waits_again()

    def agent_leg(self, identity: str, status: str, at: datetime | None = None) -> None:
        """A status callback of the <Dial> child that rings `identity`."""
        sid = self.agent_legs.setdefault(identity, new_call_sid())
        parameters = {
            **self.parameters(status),
            "CallSid": sid,
            "ParentCallSid": self.sid,
            "Direction": "outbound-dial",
            "To": client_address(identity),
            "Called": client_address(identity),
            "Timestamp": format_datetime(at or timezone.now()),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": {"ringing": "1", "in-progress": "2"}.get(status, "3"),
        }
        if status in ("completed", "no-answer", "canceled", "busy", "failed"):
            parameters["CallDuration"] = "60" if status == "completed" else "0"
        response = post_signed(self.client, "/twilio/status/", parameters)
        assert response.status_code == 204, response.content

    def dial_ends(self, dial_status: str, identity: str | None = None) -> ET.Element:
        """Twilio requests the <Dial> action: rang out, or the bridged call ended."""
        assert self.next_path.startswith("/twilio/dial/"), self.next_path
        parameters = {**self.parameters("in-progress"), "DialCallStatus": dial_status}
        if identity is not None:
            parameters["DialCallSid"] = self.agent_legs.setdefault(identity, new_call_sid())
            parameters["DialCallDuration"] = "60"
        document = twiml(post_signed(self.client, self.next_path, parameters))
        return self.follow(document)

    def answered_by(self, identity: str) -> None:
        self.agent_leg(identity, "ringing")
        self.agent_leg(identity, "in-progress")

    def talk_ends(self, identity: str, at: datetime | None = None) -> ET.Element:
        """The agent hangs up: her leg completes, then the <Dial> action ends the call."""
        self.agent_leg(identity, "completed", at=at)
        return self.dial_ends("completed", identity)

    def hangs_up(self) -> None:
        """The caller hangs up: the number's status callback reports her leg completed."""
        parameters = {
            **self.parameters("completed"),
            "Timestamp": format_datetime(timezone.now()),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": "0",
            "CallDuration": "30",
        }
        assert post_signed(self.client, "/twilio/status/", parameters).status_code == 204
