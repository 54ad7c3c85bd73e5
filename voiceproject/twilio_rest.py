"""The Twilio REST client, built once from settings, and the retry policy it talks with.

It talks to the region and edge of the API key (TWILIO_REGION, TWILIO_EDGE), or to
TWILIO_API_BASE_URL for every product when that is set (a local fake in tests).
"""

import email.utils
import functools
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

logger = logging.getLogger(__name__)

# Seconds a page someone waits on gives Twilio for each answer: far above what Twilio takes
# (a fraction of a second), far below the patience of a background run (TWILIO_API_TIMEOUT).
PAGE_TIMEOUT = 2.0


class TwilioCredentialsRejected(Exception):
    """Twilio answered 401 (error 20003): the account SID or secret is wrong."""


class TwilioUnavailable(Exception):
    """Twilio kept answering 429, 5xx or nothing at all after every retry."""


class TwilioCredentialsMissing(Exception):
    """The settings lack what the REST API needs; asking would only reach /Accounts/None/."""


def rest_credentials_required() -> None:
    """Raise TwilioCredentialsMissing naming each setting the REST client still needs.

    The client logs in with the API key when one is set, else with the auth token.
    """
    missing = [] if settings.TWILIO_ACCOUNT_SID else ["TWILIO_ACCOUNT_SID"]
    if settings.TWILIO_API_KEY_SID and not settings.TWILIO_API_KEY_SECRET:
        missing.append("TWILIO_API_KEY_SECRET")
    elif not settings.TWILIO_API_KEY_SID and not settings.TWILIO_AUTH_TOKEN:
        missing.append("TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET (or TWILIO_AUTH_TOKEN)")
    if missing:
        raise TwilioCredentialsMissing(
            f"Not set: {'; '.join(missing)}. Twilio's REST API cannot be asked without "
            "them: set them in the environment (see Configuration in the README)."
        )


class RetryingHttpClient(TwilioHttpClient):
    """Retry what Twilio asks us to retry, at the HTTP layer, so every API call gets it.

    twilio-python's list() and stream() turn any failed page into a bare TwilioException with
    no status, so the policy lives here where the status is still known: 429 waits as long as
    Retry-After says, 5xx and timeouts back off exponentially up to a cap, and 401 stops at
    once because repeating a wrong password only locks the account out.
    """

    def __init__(
        self,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        backoff_max: float,
        stop_after_failure: bool = False,
    ):
        super().__init__(timeout=timeout)
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.stop_after_failure = stop_after_failure
        self.failure: TwilioUnavailable | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.failure is not None:
            raise self.failure
        for attempt in range(self.retries + 1):
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.Timeout:
                problem, wait = f"no answer within {self.timeout:g} s", None
            except requests.ConnectionError as error:
                problem, wait = f"{type(error).__name__}", None
            else:
                if response.status_code == 401:
                    raise TwilioCredentialsRejected(
                        "Twilio refused the credentials (HTTP 401, error 20003): check "
                        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN or the API key settings."
                    )
                if response.status_code != 429 and response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = min(self.backoff * 2**attempt, self.backoff_max)
            if attempt == self.retries or wait > self.backoff_max:
                break
            logger.warning("Twilio %s %s: %s, retrying in %.1f s", method, url, problem, wait)
            time.sleep(wait)
        failure = TwilioUnavailable(
            f"Twilio API unavailable: {problem} on {method} {url} after {attempt + 1} "
            f"attempt{'s' if attempt else ''}."
        )
        if self.stop_after_failure:
            self.failure = failure
        raise failure


def retry_after_seconds(value: str | None) -> float | None:
    """Read Retry-After, given in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Twilio's own hosts: api.twilio.com, regional and edge API hosts, and its other products'.
TWILIO_DOMAIN = "twilio.com"


def is_twilio_host_url(url: str) -> bool:
    """Whether a URL is one of Twilio's, which may have our credentials: https on twilio.com
    or a host under it, or the origin of TWILIO_API_BASE_URL when that is set."""
    parts = urlsplit(url)
    # Where parsers disagree about the host (a backslash, user info, spaces), it is nobody's.
    if "\\" in url or "@" in parts.netloc or not url.isprintable() or " " in url:
        return False
    if settings.TWILIO_API_BASE_URL and _origin(url) == _origin(settings.TWILIO_API_BASE_URL):
        return True
    host = (parts.hostname or "").rstrip(".")
    return parts.scheme == "https" and (host == TWILIO_DOMAIN or host.endswith("." + TWILIO_DOMAIN))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").rstrip("."), port or default)


def twilio_rest_client() -> Client:
    """Return the REST client for the configured account, built once per configuration."""
    return _client(
        **_account_settings(),
        timeout=settings.TWILIO_API_TIMEOUT,
        retries=settings.TWILIO_API_RETRIES,
        backoff=settings.TWILIO_API_BACKOFF,
        backoff_max=settings.TWILIO_API_BACKOFF_MAX,
    )


def twilio_rest_client_for_a_page() -> Client:
    """Return a new client for one request someone waits on: a page (the admin's Twilio
    setup), an agent's action on a live call, a call being moved into its conference.

    Each request waits at most PAGE_TIMEOUT seconds and none is retried; once Twilio failed
    to answer, the client asks nothing more. An unreachable Twilio then costs the page one
    short timeout instead of every request's timeout and retries.
    """
    return _build_client(
        **_account_settings(),
        http_client=RetryingHttpClient(
            timeout=min(PAGE_TIMEOUT, settings.TWILIO_API_TIMEOUT),
            retries=0,
            backoff=0,
            backoff_max=0,
            stop_after_failure=True,
        ),
    )


def twilio_rest_client_signed_in_with(auth_token: str) -> Client:
    """Return a client that signs in with the account SID and this Auth Token instead of the
    API key: asking anything with it tells whether Twilio takes the token."""
    return _build_client(
        **{**_account_settings(), "username": settings.TWILIO_ACCOUNT_SID, "password": auth_token},
        http_client=RetryingHttpClient(
            timeout=settings.TWILIO_API_TIMEOUT,
            retries=settings.TWILIO_API_RETRIES,
            backoff=settings.TWILIO_API_BACKOFF,
            backoff_max=settings.TWILIO_API_BACKOFF_MAX,
        ),
    )


def twilio_page_failure(client: Client) -> TwilioUnavailable | None:
    """Why a page's client stopped asking Twilio; None while Twilio answers."""
    http_client = client.http_client
    return http_client.failure if isinstance(http_client, RetryingHttpClient) else None


def _account_settings() -> dict[str, str]:
    return {
        "account_sid": settings.TWILIO_ACCOUNT_SID,
        "username": settings.TWILIO_API_KEY_SID or settings.TWILIO_ACCOUNT_SID,
        "password": settings.TWILIO_API_KEY_SECRET
        if settings.TWILIO_API_KEY_SID
        else settings.TWILIO_AUTH_TOKEN,
        "base_url": settings.TWILIO_API_BASE_URL,
        "region": settings.TWILIO_REGION,
        "edge": settings.TWILIO_EDGE,
    }


@functools.lru_cache(maxsize=4)
def _client(
    *,
    account_sid: str,
    username: str,
    password: str,
    base_url: str,
    region: str,
    edge: str,
    timeout: float,
    retries: int,
    backoff: float,
    backoff_max: float,
) -> Client:
    return _build_client(
        account_sid=account_sid,
        username=username,
        password=password,
        base_url=base_url,
        region=region,
        edge=edge,
        http_client=RetryingHttpClient(
            timeout=timeout, retries=retries, backoff=backoff, backoff_max=backoff_max
        ),
    )


def _build_client(
    *,
    account_sid: str,
    username: str,
    password: str,
    base_url: str,
    region: str,
    edge: str,
    http_client: RetryingHttpClient,
) -> Client:
    client = Client(
        username,
        password,
        account_sid,
        region=None if base_url else region or None,
        edge=None if base_url else edge or None,
        http_client=http_client,
        # Settings are the only configuration: TWILIO_EDGE or TWILIO_REGION in the process
        # environment would otherwise rewrite every host, the base URL's included.
        environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
    )
    if base_url:
        # Every product the server uses: the 2010 API, Chat's push credentials, Accounts'
        # Auth Tokens and Voice Insights' call summaries.
        client.api.base_url = base_url
        client.chat.base_url = base_url
        client.accounts.base_url = base_url
        client.insights.base_url = base_url
    return client
