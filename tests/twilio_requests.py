"""Sign and send requests the way Twilio does, without the code under test."""

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import requests

from demo.scenarios import Delivery
from tests.conftest import TEST_AUTH_TOKEN

WEBHOOK_PATHS = {"voice": "/twilio/voice/", "status": "/twilio/status/"}


def twilio_signature(url: str, parameters: dict[str, str], auth_token: str = TEST_AUTH_TOKEN):
    """HMAC-SHA1 of the URL followed by each name and value, names sorted; base64."""
    payload = url + "".join(name + parameters[name] for name in sorted(parameters))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def post_signed(client, path: str, parameters: dict[str, str], **headers):
    """POST a form as Twilio does (URL-encoded), signed for http://testserver<path>."""
    signature = twilio_signature(f"http://testserver{path}", parameters)
    return client.post(
        path,
        urlencode(parameters),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature, **headers},
    )


def post_signed_over_http(url: str, parameters: dict[str, str]) -> requests.Response:
    """POST a form to a running server as Twilio does, signed for that exact URL."""
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


def deliver_over_http(base_url: str, delivery: Delivery) -> requests.Response:
    """Send a delivery to a live server over real HTTP, signed for its URL as Twilio signs."""
    return post_signed_over_http(base_url + WEBHOOK_PATHS[delivery.webhook], delivery.parameters)
