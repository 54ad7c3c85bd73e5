"""Issue Twilio AccessTokens for agents with the official helper library."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from agents.models import Agent


class TwilioCredentialsMissing(Exception):
    """The server lacks the Twilio settings needed to sign tokens."""


@dataclass(frozen=True)
class IssuedToken:
    identity: str
    token: str
    ttl: int
    expires_at: datetime


def token_ttl(requested: int | None = None) -> int:
    """Return the lifetime to issue: the configured one, or a shorter one when asked."""
    if requested is None:
        return settings.TWILIO_TOKEN_TTL
    return min(requested, settings.TWILIO_TOKEN_TTL, settings.TWILIO_TOKEN_MAX_TTL)


def access_token_for_agent(*, agent: Agent, ttl: int | None = None) -> IssuedToken:
    """Sign an AccessToken with a VoiceGrant for the agent's own identity and TwiML App."""
    missing = [
        name
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET")
        if not getattr(settings, name)
    ]
    if missing:
        raise TwilioCredentialsMissing(f"the server lacks {', '.join(missing)}.")

    lifetime = token_ttl(ttl)
    expires = int(time.time()) + lifetime
    grant = VoiceGrant(
        outgoing_application_sid=agent.twiml_app.sid,
        incoming_allow=agent.incoming_allowed,
        push_credential_sid=agent.twiml_app.push_credential_sid or None,
    )
    token = AccessToken(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_API_KEY_SID,
        settings.TWILIO_API_KEY_SECRET,
        identity=agent.identity,
        grants=[grant],
        valid_until=expires,
        region=settings.TWILIO_REGION or None,
    )
    return IssuedToken(
        identity=agent.identity,
        token=token.to_jwt(),
        ttl=lifetime,
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
    )
