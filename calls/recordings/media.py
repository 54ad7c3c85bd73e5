"""Stream a recording's audio from Twilio's REST API with our credentials.

The browser asks our server, which asks Twilio: Twilio's URL and our credentials never reach
the browser. The audio passes through in small chunks, so memory stays flat however long
the recording, and Range requests pass through so that the player can seek.
"""

import re
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from voiceproject.twilio_rest import is_twilio_host_url, twilio_rest_client

MEDIA_CHUNK_BYTES: Final = 1024 * 1024
MEDIA_EXTENSIONS: Final = ("mp3", "wav")
# Twilio sends media through a redirect or two; more is a loop.
MEDIA_MAX_REDIRECTS: Final = 3
# What the player needs from Twilio's answer to play and seek.
PASSED_THROUGH_HEADERS: Final = (
    "Content-Type",
    "Content-Length",
    "Content-Range",
    "Accept-Ranges",
    "Last-Modified",
    "ETag",
)
# One byte range, the only kind players send; anything else is dropped (the whole file).
_SINGLE_RANGE = re.compile(r"bytes=\d*-\d*")
# Statuses a player understands as they are; Twilio's 404 is ours, the rest are failures.
_PLAYABLE_STATUSES = frozenset({200, 206, 416})


class RecordingMediaMissing(Exception):
    """Twilio has no media for this recording (deleted there, or never made)."""


class RecordingMediaUnavailable(Exception):
    """Twilio did not serve the media: an outage, a timeout or refused credentials."""


def recording_media_open(*, sid: str, extension: str, range_header: str) -> requests.Response:
    """Start downloading the media; the body is read later, chunk by chunk.

    Redirects are followed by hand, to Twilio's hosts only (is_twilio_host_url), at most
    MEDIA_MAX_REDIRECTS times: our credentials and the request never go anywhere else.
    """
    client = twilio_rest_client()
    path = f"/2010-04-01/Accounts/{client.account_sid}/Recordings/{sid}.{extension}"
    url = client.get_hostname(client.api.base_url + path)
    headers = {"Range": range_header} if _SINGLE_RANGE.fullmatch(range_header) else {}
    for _ in range(MEDIA_MAX_REDIRECTS + 1):
        upstream = _media_request(url, auth=client.auth, headers=headers)
        if not upstream.is_redirect:
            break
        upstream.close()
        url = urljoin(url, upstream.headers["Location"])
        if not is_twilio_host_url(url):
            # The host goes to the log, for operators; never to the listener.
            host = urlsplit(url).hostname
            raise RecordingMediaUnavailable(
                f"Twilio redirected recording {sid} to {host!r}, not one of its hosts: "
                "not followed."
            )
    else:
        raise RecordingMediaUnavailable(f"Twilio redirected recording {sid} too many times.")
    if upstream.status_code in _PLAYABLE_STATUSES:
        return upstream
    upstream.close()
    if upstream.status_code == 404:
        raise RecordingMediaMissing(f"Twilio has no media for recording {sid}.")
    raise RecordingMediaUnavailable(f"Twilio answered HTTP {upstream.status_code}.")


def _media_request(url: str, *, auth: Any, headers: dict[str, str]) -> requests.Response:
    try:
        return requests.get(
            url,
            auth=auth,
            headers=headers,
            stream=True,
            allow_redirects=False,
            timeout=settings.TWILIO_API_TIMEOUT,
        )
    except requests.RequestException as error:
        raise RecordingMediaUnavailable(f"Twilio did not answer: {error}") from error


def media_chunks(upstream: requests.Response) -> Iterator[bytes]:
    """The body in chunks; closing the iterator (the client went away) closes the download."""
    try:
        # The raw stream, undecoded (audio is never content-encoded), whatever one read from
        # the socket gives: each layer and buffer less is a copy less of every byte.
        while chunk := upstream.raw.read1(MEDIA_CHUNK_BYTES, decode_content=False):
            yield chunk
    finally:
        upstream.close()
