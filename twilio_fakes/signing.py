"""Sign requests the way Twilio does, written from Twilio's documentation, not from our code."""

import base64
import hashlib
import hmac
from urllib.parse import urlencode


def twilio_signature(
    url: str, parameters: dict[str, str] | list[tuple[str, str]], auth_token: str
) -> str:
    """HMAC-SHA1 of the URL followed by each name and value, names sorted; base64.

    A name given more than once (as pairs) is signed with each of its values, sorted, as
    Twilio's library does.
    """
    pairs = sorted(parameters.items() if isinstance(parameters, dict) else parameters)
    payload = url + "".join(name + value for name, value in pairs)
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_json_signature(url: str, body: str, auth_token: str) -> tuple[str, str]:
    """The URL Twilio requests for a JSON body (bodySHA256, the body's hex SHA-256, added to
    its query) and the signature of that URL alone: the body is not part of the string."""
    separator = "&" if "?" in url else "?"
    body_hash = hashlib.sha256(body.encode()).hexdigest()
    signed_url = f"{url}{separator}{urlencode({'bodySHA256': body_hash})}"
    return signed_url, twilio_signature(signed_url, {}, auth_token)
