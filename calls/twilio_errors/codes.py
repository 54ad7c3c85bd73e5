"""What the Twilio error codes people meet with a voice app mean, and what to do about each."""

from typing import NamedTuple


class ErrorAdvice(NamedTuple):
    meaning: str
    remedy: str


ERROR_ADVICE = {
    11200: ErrorAdvice(
        "HTTP retrieval failure: a webhook answered 4xx/5xx or not at all",
        "open the request URL shown; check the server's log and TWILIO_WEBHOOK_BASE_URL",
    ),
    11205: ErrorAdvice(
        "HTTP connection failure: Twilio could not connect to the webhook",
        "check that the public URL resolves and accepts HTTPS; Twilio gives up after 15 s",
    ),
    12100: ErrorAdvice(
        "Document parse failure: the answer was not valid TwiML",
        "look at the answer of the request URL shown (a proxy's HTML error page is typical)",
    ),
    13214: ErrorAdvice(
        "Dial: invalid callerId",
        "use one of the account's numbers or a verified caller ID as the caller ID",
    ),
    15003: ErrorAdvice(
        "A status callback answered 4xx/5xx",
        "check the status callback URL and the server's log at that time",
    ),
    20101: ErrorAdvice(
        "Invalid access token",
        "check the API key's region against TWILIO_REGION and TWILIO_EDGE, and the clock",
    ),
    31005: ErrorAdvice(
        "Connection error: the softphone's WebSocket to Twilio closed",
        "usually the user's network; repeated, check firewalls for wss://*.twilio.com",
    ),
    31009: ErrorAdvice(
        "Transport error: the softphone has no connection to Twilio",
        "the browser could not reach Twilio; check the user's network and proxy",
    ),
    53000: ErrorAdvice(
        "Signaling connection error",
        "the softphone lost its signaling connection; check the user's network",
    ),
}


def error_advice(code: int) -> ErrorAdvice | None:
    return ERROR_ADVICE.get(code)
