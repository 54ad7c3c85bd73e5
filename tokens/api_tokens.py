"""Device logins to the API: create, check, end. The key is shown once and stored hashed."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from tokens.models import ApiToken

if TYPE_CHECKING:
    # What get_user_model() returns here: AUTH_USER_MODEL is not swapped.
    from django.contrib.auth.models import User

DEFAULT_DEVICE_NAME = "API client"
PASSWORD_DIGEST_SALT = "tokens.ApiToken.password_digest"


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    key: str  # the secret, known to the device only: never stored


def api_token_key_hash(key: str) -> str:
    """The stored form of a key. Keys are 160 random bits, so a plain SHA-256 suffices."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_password_digest(*, password_hash: str) -> str:
    """A keyed digest of the user's password hash, which changes with the password."""
    return salted_hmac(PASSWORD_DIGEST_SALT, password_hash, algorithm="sha256").hexdigest()


def api_token_matches_password(*, token: ApiToken, password_hash: str) -> bool:
    return constant_time_compare(
        token.password_digest, api_token_password_digest(password_hash=password_hash)
    )


@transaction.atomic
def api_token_create(*, user: "User", name: str) -> NewApiToken:
    """Log one more device in: a new token that lives API_TOKEN_TTL seconds.

    A user keeps at most API_TOKENS_PER_USER tokens: beyond, the oldest end, so that
    logging in always works and the table cannot grow without bound. A device whose token
    ended that way logs in again.
    """
    # One login at a time per user, so that two at once cannot both keep the oldest.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    key = secrets.token_hex(20)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name or DEFAULT_DEVICE_NAME,
        key_hash=api_token_key_hash(key),
        password_digest=api_token_password_digest(password_hash=user.password),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.API_TOKEN_TTL),
    )
    newest_first = ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")
    oldest = newest_first.values_list("pk", flat=True)[settings.API_TOKENS_PER_USER :]
    ApiToken.objects.filter(pk__in=list(oldest)).delete()
    return NewApiToken(token=token, key=key)


def api_tokens_revoke_stale(*, user: "User") -> int:
    """Delete the user's tokens that its state no longer allows: all of them when the user
    is inactive, those made with another password otherwise. Returns how many."""
    tokens = ApiToken.objects.filter(user_id=user.pk)
    if user.is_active:
        tokens = tokens.exclude(
            password_digest=api_token_password_digest(password_hash=user.password)
        )
    deleted, _ = tokens.delete()
    return deleted
