"""Sign and send requests the way Twilio does, without the code under test."""

import random
from datetime import UTC, datetime
from urllib.parse import urlencode

import requests

from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from twilio_fakes import signing
from twilio_fakes.scenarios import CallPlan, Delivery, agent_to_pstn

WEBHOOK_PATHS = {"voice": "/twilio/voice/", "status": "/twilio/status/", "dial": "/twilio/dial/"}


def twilio_signature(
    url: str,
    parameters: dict[str, str] | list[tuple[str, str]],
    auth_token: str = TEST_AUTH_TOKEN,
) -> str:
    """Twilio's signature, with the test account's auth token unless another is given."""
    return signing.twilio_signature(url, parameters, auth_token)


def post_signed(
    client, path: str, parameters: dict[str, str], auth_token: str = TEST_AUTH_TOKEN, **headers
):
    """POST a form as Twilio does (URL-encoded), signed for http://testserver<path>."""
    signature = twilio_signature(f"http://testserver{path}", parameters, auth_token)
    return client.post(
        path,
        urlencode(parameters),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature, **headers},
    )


def post_signed_over_http(
    url: str, parameters: dict[str, str] | list[tuple[str, str]]
) -> requests.Response:
    """POST a form to a running server as Twilio does, signed for that exact URL; pairs may
    repeat a name."""
    return requests.post(
        url,
        data=urlencode(parameters),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, parameters),
        },
        timeout=10,
    )


def deliver(client, delivery: Delivery):
    return post_signed(client, WEBHOOK_PATHS[delivery.webhook], delivery.parameters)


def replay(client, deliveries: list[Delivery]) -> None:
    """Deliver each request in turn, as Twilio would, and check that each was taken."""
    for delivery in deliveries:
        assert deliver(client, delivery).status_code in (200, 204)


def recording_callback(
    call_sid: str, recording_sid: str, status: str, **changes: str
) -> dict[str, str]:
    """A recording status callback as Twilio posts it."""
    final = status != "in-progress"
    form = {
        "AccountSid": TEST_ACCOUNT_SID,
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{TEST_ACCOUNT_SID}"
        f"/Recordings/{recording_sid}",
        "RecordingStatus": status,
        "RecordingChannels": "2",
        "RecordingSource": "DialVerb",
        "RecordingStartTime": "Mon, 02 Nov 2026 09:30:05 +0000",
        "ErrorCode": "0",
        **({"RecordingDuration": "42"} if final else {}),
    }
    return form | changes


def deliver_over_http(base_url: str, delivery: Delivery) -> requests.Response:
    """Send a delivery to a live server over real HTTP, signed for its URL as Twilio signs."""
    return post_signed_over_http(base_url + WEBHOOK_PATHS[delivery.webhook], delivery.parameters)


PLAN = CallPlan(
    account_sid=TEST_ACCOUNT_SID,
    application_sid="AP" + "d" * 32,
    started_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
)


def agent_call_deliveries(*, seed: int = 7) -> list[Delivery]:
    """Twilio's traffic, recorded-scenario style, for alice's softphone calling a number."""
    return agent_to_pstn(
        PLAN,
        random.Random(seed),
        identity="alice",
        caller_id="+14155550100",
        destination="+12125550123",
    )


def child_callback(**changes: str | None) -> dict[str, str]:
    """A child leg's 'answered' status callback, with fields changed or removed (None)."""
    deliveries = agent_call_deliveries()
    answered = next(d for d in deliveries if d.parameters["CallStatus"] == "in-progress")
    parameters = {**answered.parameters, **changes}
    return {name: value for name, value in parameters.items() if value is not None}
