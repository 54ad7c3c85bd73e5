"""API token authentication, shaped for the token endpoint: the hot path of every softphone."""

import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Field, Model
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from agents.models import Agent, TwimlApp
from tokens.api_tokens import api_token_key_hash, api_token_matches_password
from tokens.models import ApiToken

User = get_user_model()
if TYPE_CHECKING:
    # What get_user_model() returns here: AUTH_USER_MODEL is not swapped.
    from django.contrib.auth.models import User as UserModel

# The columns loaded with a token: enough for the token endpoint and for permission checks;
# any other field of these models loads on first use. Model.from_db wants them in the
# model's own field order.
WANTED: dict[type[Model], set[str]] = {
    ApiToken: {"id", "user_id", "password_digest", "expires_at"},
    User: {"id", "password", "username", "is_active", "is_staff", "is_superuser"},
    Agent: {"id", "user_id", "identity", "twiml_app_id", "incoming_allowed", "is_active"},
    TwimlApp: {"id", "sid", "apn_credential_sid", "fcm_credential_sid"},
}
LOADED = {
    model: [field for field in model._meta.concrete_fields if field.attname in wanted]
    for model, wanted in WANTED.items()
}
LOADED_FIELDS = {model: [field.attname for field in fields] for model, fields in LOADED.items()}


def _columns(model: type[Model], alias: str) -> list[str]:
    return [
        f"{alias}.{field.column}"
        for field in model._meta.concrete_fields
        if field.attname in LOADED_FIELDS[model]
    ]


# Written out once rather than compiled by the ORM on every request: compiling a three-table
# select_related costs several times the database round trip itself.
TOKEN_OWNER_SQL = f"""
SELECT {
    ", ".join(
        _columns(ApiToken, "t")
        + _columns(User, "u")
        + _columns(Agent, "a")
        + _columns(TwimlApp, "p")
    )
}
FROM {ApiToken._meta.db_table} t
JOIN {User._meta.db_table} u ON u.id = t.user_id
LEFT JOIN {Agent._meta.db_table} a ON a.user_id = u.id
LEFT JOIN {TwimlApp._meta.db_table} p ON p.id = a.twiml_app_id
WHERE t.key_hash = %s AND t.expires_at > %s
"""


TokenOwner = tuple[ApiToken, "UserModel"]


class AgentTokenAuthentication(TokenAuthentication):
    """API token authentication that loads the user's agent and TwiML App in the same query.

    Softphones ask for a token at start-up and before every expiry; one database round trip
    per request (see agents.selectors.agent_get_for_user). Expired tokens and tokens made
    before the user's last password change are refused.
    """

    def authenticate_credentials(self, key: str) -> tuple["UserModel", ApiToken]:
        token, user = self.verified_owner(key_hash=api_token_key_hash(key))
        if token.expires_at <= timezone.now():
            raise AuthenticationFailed("Invalid or expired token.")
        return user, token

    def verified_owner(self, *, key_hash: str) -> TokenOwner:
        """The token and its active user, with her agent and TwiML App, read in one query;
        AuthenticationFailed when the token is unknown or expired, the user inactive or her
        password changed since the token was made."""
        owner = token_owner_read(key_hash=key_hash)
        if owner is None:
            raise AuthenticationFailed("Invalid or expired token.")
        token, user = owner
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if not api_token_matches_password(token=token, password_hash=user.password):
            raise AuthenticationFailed("The password changed since this token was made.")
        return token, user


def _authorization_words(authorization: str) -> list[bytes]:
    """The Authorization header split into words as DRF's TokenAuthentication splits it."""
    try:
        return authorization.encode(HTTP_HEADER_ENCODING).split()
    except UnicodeEncodeError:
        return []


def _is_api_token_keyword(word: bytes) -> bool:
    return word.lower() == AgentTokenAuthentication.keyword.lower().encode()


def decided_by_api_token(authorization: str) -> bool:
    """Whether a request with this Authorization header is authenticated or refused by its API
    token alone, never by the session.

    DRF's TokenAuthentication, first in the API's authentication classes, takes every header
    whose first word is its keyword, in any case: it then authenticates the request or
    refuses it with 401, and the session is never looked at.
    """
    words = _authorization_words(authorization)
    return bool(words) and _is_api_token_keyword(words[0])


def api_token_key(authorization: str) -> str | None:
    """The key in a well-formed `Token <key>` header, the one TokenAuthentication would check;
    None for any other header, which only TokenAuthentication itself may answer."""
    words = _authorization_words(authorization)
    if len(words) != 2 or not _is_api_token_keyword(words[0]):
        return None
    try:
        return words[1].decode()
    except UnicodeError:
        return None


PageView = Callable[..., HttpResponseBase]


def api_token_or_login_required(view: PageView) -> PageView:
    """Let a device in with its API token and a browser with its session, for a page that
    apps use too (the audio of a recording).

    A request that sends `Authorization: Token <key>` is decided by the token alone, as the
    API decides it: 401 for an unknown, expired or revoked key, never the login page, which
    an app cannot follow. Any other request needs the session, as login_required asks.
    """
    needs_session = login_required(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        if not decided_by_api_token(authorization):
            return needs_session(request, *args, **kwargs)
        key = api_token_key(authorization)
        try:
            if key is None:
                raise AuthenticationFailed("The Authorization header is not 'Token <key>'.")
            request.user = AgentTokenAuthentication().authenticate_credentials(key)[0]
        except AuthenticationFailed as refusal:
            return HttpResponse(
                str(refusal.detail),
                status=401,
                content_type="text/plain; charset=utf-8",
                headers={"WWW-Authenticate": AgentTokenAuthentication.keyword},
            )
        return view(request, *args, **kwargs)

    return wrapper


class RecentTokenOwners:
    """The owners (token and user, with her agent and TwiML App) of the tokens this process
    verified in the last MAX_AGE seconds.

    A device that asks again within that time (a softphone restarting, a burst of tabs, a
    retry) costs no database round trip and no check but the token's expiry. Nothing here is
    shared between processes, so no message has to reach them: an entry is forgotten
    MAX_AGE seconds after it was read, which bounds how long any process can act on a user
    deactivated, a password changed, an agent or app edited or a token revoked elsewhere.
    The process that makes such a change through the ORM forgets every entry at once
    (tokens.signals). The requests of that second share the instances: the token endpoint
    only reads them.
    """

    MAX_AGE = 1.0
    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._owners: dict[str, tuple[float, TokenOwner]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> TokenOwner | None:
        entry = self._owners.get(key_hash)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key_hash: str, owner: TokenOwner, *, read_at: float) -> None:
        with self._lock:
            if len(self._owners) >= self.MAX_ENTRIES:
                now = time.monotonic()
                self._owners = {key: entry for key, entry in self._owners.items() if entry[0] > now}
                if len(self._owners) >= self.MAX_ENTRIES:
                    self._owners = {}
            self._owners[key_hash] = (read_at + self.MAX_AGE, owner)

    def clear(self) -> None:
        with self._lock:
            self._owners = {}


recent_token_owners = RecentTokenOwners()


class RecentAgentTokenAuthentication(AgentTokenAuthentication):
    """AgentTokenAuthentication that reuses the owner verified in the last second, for the
    token endpoint alone: the one path a device repeats, and one that changes nothing."""

    def verified_owner(self, *, key_hash: str) -> TokenOwner:
        owner = recent_token_owners.get(key_hash)
        if owner is None:
            # Timed before the query: an entry never outlives what it read by MAX_AGE.
            read_at = time.monotonic()
            owner = super().verified_owner(key_hash=key_hash)
            recent_token_owners.put(key_hash, owner, read_at=read_at)
        return owner


def token_owner_read(*, key_hash: str) -> TokenOwner | None:
    """The unexpired token with this key hash and its user, her agent and TwiML App cached on
    them as `ApiToken.objects.select_related("user__agent__twiml_app").only(...)` would load
    them, in one query; None when there is none.

    Written as SQL because the ORM spends several times the round trip compiling that query
    on every request (benches/token_owner_bench.py prints both).
    """
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_OWNER_SQL, [key_hash, timezone.now()])
        row: tuple[Any, ...] | None = cursor.fetchone()
    return None if row is None else _token_and_user_from_row(row)


def _token_and_user_from_row(row: tuple[Any, ...]) -> TokenOwner:
    """Build the token and its user with its agent (or None) cached on it, as select_related
    would."""
    values = iter(row)
    loaded = {
        model: [_as_the_orm_reads(field, next(values)) for field in fields]
        for model, fields in LOADED.items()
    }
    db = connection.alias
    token = ApiToken.from_db(db, LOADED_FIELDS[ApiToken], loaded[ApiToken])
    user = User.from_db(db, LOADED_FIELDS[User], loaded[User])
    ApiToken.user.field.set_cached_value(token, user)
    agent = None
    if loaded[Agent][0] is not None:
        agent = Agent.from_db(db, LOADED_FIELDS[Agent], loaded[Agent])
        app = TwimlApp.from_db(db, LOADED_FIELDS[TwimlApp], loaded[TwimlApp])
        Agent.twiml_app.field.set_cached_value(agent, app)
        Agent.user.field.set_cached_value(agent, user)
    User.agent.related.set_cached_value(user, agent)
    return token, user


def _as_the_orm_reads(field: Field[Any, Any], value: Any) -> Any:
    """The column's value converted as the ORM converts it: the database driver alone leaves
    some values raw (SQLite's datetimes come back naive). PostgreSQL's need no converter."""
    column = field.cached_col
    # What SQLCompiler.get_converters() takes for a column: the backend's, then the field's.
    for converter in connection.ops.get_db_converters(column) + column.get_db_converters(
        connection
    ):
        value = converter(value, column, connection)
    return value
