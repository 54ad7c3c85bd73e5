"""Issue Twilio AccessTokens for agents with the official helper library."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from django.conf import settings
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from agents.models import Agent, TwimlApp
from voiceproject.metrics import access_token_issued
from voiceproject.twilio_regions import sdk_edge


class TwilioCredentialsMissing(Exception):
    """The server lacks the Twilio settings needed to sign tokens."""


class Platform(StrEnum):
    """Where the Voice SDK asking for a token runs; mobile platforms ring through push."""

    IOS = "ios"
    ANDROID = "android"


@dataclass(frozen=True)
class IssuedToken:
    identity: str
    token: str
    ttl: int
    expires_at: datetime
    # The Voice SDK's `edge` option: the edge this server's region is reached through.
    edge: str


def push_credential_for(*, app: TwimlApp, platform: Platform | None) -> str | None:
    """The app's push credential for the platform: APNs for iOS, FCM for Android, none else."""
    if platform is Platform.IOS:
        return app.apn_credential_sid or None
    if platform is Platform.ANDROID:
        return app.fcm_credential_sid or None
    return None


def token_ttl(requested: int | None = None) -> int:
    """Return the lifetime to issue: the configured one, or a shorter one when asked."""
    if requested is None:
        return settings.TWILIO_TOKEN_TTL
    return min(requested, settings.TWILIO_TOKEN_TTL, settings.TWILIO_TOKEN_MAX_TTL)


def access_token_for_agent(
    *, agent: Agent, ttl: int | None = None, platform: Platform | None = None
) -> IssuedToken:
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
        push_credential_sid=push_credential_for(app=agent.twiml_app, platform=platform),
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
    issued = IssuedToken(
        identity=agent.identity,
        token=token.to_jwt(),
        ttl=lifetime,
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
        edge=sdk_edge(edge=settings.TWILIO_EDGE),
    )
    access_token_issued()
    return issued
