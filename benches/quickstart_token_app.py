"""The reference: Twilio's quickstart /token endpoint as a bare WSGI function.

No framework, no database, no login: anyone gets a token for a fixed identity. It is what
our authenticated endpoint is measured against in token_bench.py.
"""

import json
import os

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant


def application(environ, start_response):
    token = AccessToken(
        os.environ["TWILIO_ACCOUNT_SID"],
        os.environ["TWILIO_API_KEY_SID"],
        os.environ["TWILIO_API_KEY_SECRET"],
        identity="quickstart_user",
        ttl=3600,
    )
    token.add_grant(
        VoiceGrant(
            outgoing_application_sid=os.environ["QUICKSTART_APP_SID"],
            incoming_allow=True,
        )
    )
    body = json.dumps({"identity": "quickstart_user", "token": token.to_jwt()}).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
