"""Sign and send requests the way Twilio does, without the code under test."""

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from demo.scenarios import Delivery
from tests.conftest import TEST_AUTH_TOKEN

WEBHOOK_PATHS = {"voice": "/twilio/voice/", "status": "/twilio/status/"}


def twilio_signature(
    url: str,
    parameters: dict[str, str] | list[tuple[str, str]],
    auth_token: str = TEST_AUTH_TOKEN,
):
    """HMAC-SHA1 of the URL followed by each name and value, names sorted; base64.

    A name given more than once (as pairs) is signed with each of its values, sorted, as
    Twilio's library does.
    """
    pairs = sorted(parameters.items() if isinstance(parameters, dict) else parameters)
    payload = url + "".join(name + value for name, value in pairs)
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


def deliver(client, delivery: Delivery):
    return post_signed(client, WEBHOOK_PATHS[delivery.webhook], delivery.parameters)
