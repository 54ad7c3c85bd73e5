"""Sign requests the way Twilio does, written from Twilio's documentation, not from our code."""

import base64
import hashlib
import hmac


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
