"""Calls through the conference hub, as Twilio and the people on them make them: Twilio's
requests posted, signed, to our webhooks; Twilio's REST side and its conference callbacks
from the fake (twilio_fakes.conferences). Tests say what people do; this plays Twilio."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode, urlsplit

from tests.conftest import TEST_ACCOUNT_SID
from tests.factories import random_sid
from tests.twilio_requests import post_signed
from voiceproject.twilio_ids import client_address

CUSTOMER_NUMBER = "+12125550123"
SUPPORT_LINE = "+14155550100"


class HubCall:
    """One customer's call: rung by our <Dial>, answered, moved into its conference."""

    def __init__(self, client, fake, *, caller: str = CUSTOMER_NUMBER, number: str = SUPPORT_LINE):
        self.client = client
        self.fake = fake
        self.conferences = fake.conferences
        self.parent_sid = random_sid("CA")
        self.parent = {
            "AccountSid": TEST_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.parent_sid,
            "Direction": "inbound",
            "From": caller,
            "To": number,
            "Caller": caller,
            "Called": number,
        }
        self.posted = 0
        self.sequence = 0
        fake.add_call(self.parent_sid, status="in-progress", from_=caller, to=number)

    @property
    def name(self) -> str:
        return f"hub-{self.parent_sid}"

    def rings(self) -> ET.Element:
        response = post_signed(
            self.client, "/twilio/voice/", {**self.parent, "CallStatus": "ringing"}
        )
        assert response.status_code == 200, response.content
        return ET.fromstring(response.content)

    @classmethod
    def outgoing(cls, client, fake, *, identity: str, to: str) -> "HubCall":
        """An agent's softphone calls `to`: the parent leg is hers."""
        call = cls(client, fake, caller=client_address(identity), number=to)
        call.parent["Called"] = ""
        return call

    def answered_by(self, identity: str) -> str:
        """The agent answers: her leg is moved into the conference, and the parent follows
        it there when our <Dial> action tells it to. Returns her leg's SID."""
        return self.answered_at(client_address(identity), offered=identity)

    def answered_at(self, address: str, *, offered: str = "") -> str:
        """The leg our <Dial> rang at `address` answers; its SID."""
        self.rings()
        child_sid = random_sid("CA")
        self.fake.add_call(
            child_sid,
            status="in-progress",
            parent_call_sid=self.parent_sid,
            direction="outbound-dial",
            from_=self.parent["From"],
            to=address,
        )
        child = {
            **self.parent,
            "CallSid": child_sid,
            "ParentCallSid": self.parent_sid,
            "Direction": "outbound-dial",
            "To": address,
            "Called": address,
        }
        for status in ("initiated", "ringing", "in-progress"):
            self.status(child, status)
        self.dial_ended(offered=offered, dial_call_sid=child_sid)
        return child_sid

    def status(self, leg: dict[str, str], status: str) -> None:
        response = post_signed(
            self.client,
            "/twilio/status/",
            {
                **leg,
                "CallStatus": status,
                "Timestamp": format_datetime(datetime.now(UTC)),
                "SequenceNumber": str(self.sequence),
                "CallbackSource": "call-progress-events",
            },
        )
        self.sequence += 1
        assert response.status_code == 204, response.content

    def dial_ended(self, *, offered: str, dial_call_sid: str) -> ET.Element:
        """Our <Dial> action, as Twilio asks it once the answered leg left the <Dial>; the
        parent runs the TwiML it answers (joins the conference it names)."""
        response = post_signed(
            self.client,
            f"/twilio/dial/?offered={offered}",
            {
                **self.parent,
                "CallStatus": "in-progress",
                "DialCallStatus": "completed",
                "DialCallSid": dial_call_sid,
                "DialBridged": "true",
            },
        )
        assert response.status_code == 200, response.content
        document = ET.fromstring(response.content)
        conference = document.find("Dial/Conference")
        if conference is not None:
            self.conferences.join(
                self.parent_sid,
                conference.text,
                label=conference.get("participantLabel"),
                end_conference_on_exit=conference.get("endConferenceOnExit") == "true",
                status_callback=conference.get("statusCallback"),
                status_callback_event=conference.get("statusCallbackEvent", "start end"),
            )
            self.deliver()
        return document

    def deliver(self) -> list[int]:
        """Post Twilio's callbacks sent since the last time, in order, to our webhooks."""
        callbacks = self.conferences.callbacks[self.posted :]
        self.posted += len(callbacks)
        return [post_callback(self.client, callback) for callback in callbacks]


def post_callback(client, callback) -> int:
    """Post one of the fake's callbacks through the test client, signed as the fake signed
    it (for the URL it was sent to)."""
    url = urlsplit(callback.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    response = client.post(
        path,
        urlencode(callback.parameters),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": callback.signature},
    )
    return response.status_code
