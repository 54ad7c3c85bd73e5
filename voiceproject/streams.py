"""Limits on streamed answers (the CSV export, recordings' audio), which hold a server thread
for as long as their reader takes.

Without limits one user reading 48 streams slowly takes every thread, and Twilio's webhooks
and the softphones' token renewals wait past Twilio's 15 s. So each user may stream
STREAMS_PER_USER answers at once across every process (slots in the shared cache, leased
and renewed while the stream runs, so the slots of a process that died lapse within
STREAM_SLOT_LEASE seconds); each process streams at most STREAMS_PER_PROCESS answers, which
keeps its other threads for everything else; a stream ends after STREAM_TIME_LIMIT seconds,
or when its reader takes more than STREAM_WRITE_TIMEOUT seconds for one chunk.
"""

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, Final

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from redis import RedisError

logger = logging.getLogger(__name__)

# Seconds a user's slot outlives its last renewal; a running stream renews it every
# STREAM_SLOT_RENEWAL seconds, between two chunks, and a chunk waits at most
# STREAM_WRITE_TIMEOUT for its reader.
STREAM_SLOT_LEASE: Final = 90
STREAM_SLOT_RENEWAL: Final = 15
STREAM_WRITE_TIMEOUT: Final = 30
# What a refused client is told to wait before asking again.
STREAM_RETRY_AFTER_SECONDS: Final = 10

_process_streams = threading.BoundedSemaphore(settings.STREAMS_PER_PROCESS)

View = Callable[..., HttpResponseBase]


class StreamTimeLimitExceeded(Exception):
    """A stream ran past STREAM_TIME_LIMIT; the server cuts the connection, so the reader
    sees an incomplete download rather than a short file that looks whole."""


def _slot_key(user_id: int | None, slot: int) -> str:
    return f"stream-slot:{user_id}:{slot}"


# The slot of a stream taken while the cache (Redis) did not answer: only the process's
# limit holds it back, so that an outage of Redis never stops anyone's download.
UNCOUNTED: Final = ""


def stream_slot_acquire(*, user_id: int | None) -> str | None:
    """Take one of the user's STREAMS_PER_USER slots; its cache key, None when all are taken,
    UNCOUNTED when the cache cannot say."""
    try:
        for slot in range(settings.STREAMS_PER_USER):
            key = _slot_key(user_id, slot)
            if cache.add(key, True, timeout=STREAM_SLOT_LEASE):
                return key
    except RedisError as error:
        logger.warning("Streaming without the per-user limit: the cache failed (%s).", error)
        return UNCOUNTED
    return None


def _slot_forget(key: str, *, renew: bool = False) -> None:
    """Renew or give back a user's slot; a cache that does not answer lets the lease lapse."""
    if key == UNCOUNTED:
        return
    try:
        if renew:
            cache.touch(key, timeout=STREAM_SLOT_LEASE)
        else:
            cache.delete(key)
    except RedisError as error:
        logger.warning("Could not update stream slot %s: %s", key, error)


def stream_slot_renew(key: str) -> None:
    """Keep a running stream's slot for another STREAM_SLOT_LEASE seconds."""
    _slot_forget(key, renew=True)


def _slots_release(slot_key: str) -> None:
    """Give back the user's slot and the process's."""
    _slot_forget(slot_key)
    _process_streams.release()


def _refused(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(STREAM_RETRY_AFTER_SECONDS)
    return response


class LimitedStream:
    """A streamed answer's chunks under the time limit; closing it (the server does, when the
    answer ends or the reader goes away, started or not) gives its slots back."""

    def __init__(self, chunks: Iterator[Any], *, slot_key: str) -> None:
        self.chunks = chunks
        self.slot_key = slot_key
        self.deadline = time.monotonic() + settings.STREAM_TIME_LIMIT
        self.renewed = time.monotonic()
        self.closed = False

    def __iter__(self) -> "LimitedStream":
        return self

    def __next__(self) -> Any:
        now = time.monotonic()
        if now > self.deadline:
            raise StreamTimeLimitExceeded(
                f"Stream cut off after STREAM_TIME_LIMIT ({settings.STREAM_TIME_LIMIT} s)."
            )
        if now - self.renewed > STREAM_SLOT_RENEWAL:
            stream_slot_renew(self.slot_key)
            self.renewed = now
        try:
            return next(self.chunks)
        except StopIteration:
            self.close()  # read to the end: the slots are free before the server closes it
            raise

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            close_chunks = getattr(self.chunks, "close", None)
            if close_chunks is not None:
                close_chunks()
        finally:
            _slots_release(self.slot_key)


def stream_limited(view: View) -> View:
    """Hold a view's streamed answer to the limits above: 429 when the user already streams
    STREAMS_PER_USER answers, 503 when this process streams STREAMS_PER_PROCESS, both with
    Retry-After. Answers that are not streamed (a 404, a 400) give the slots back at once.

    Goes after the login decorator: the limit is per user.
    """

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        slot_key = stream_slot_acquire(user_id=request.user.pk)
        if slot_key is None:
            return _refused(
                429,
                f"You already have {settings.STREAMS_PER_USER} downloads or recordings "
                "streaming; let one finish and try again.",
            )
        if not _process_streams.acquire(blocking=False):
            _slot_forget(slot_key)
            return _refused(503, "The server is streaming all it can; try again shortly.")
        try:
            response = view(request, *args, **kwargs)
            if isinstance(response, StreamingHttpResponse):
                return _limited_answer(request, response, slot_key=slot_key)
        except BaseException:
            _slots_release(slot_key)
            raise
        _slots_release(slot_key)
        return response

    return limited


def _limited_answer(
    request: HttpRequest, response: StreamingHttpResponse, *, slot_key: str
) -> StreamingHttpResponse:
    chunks = response.streaming_content
    if not isinstance(chunks, Iterator):
        raise TypeError("stream_limited takes synchronous streamed answers only.")
    # A reader that takes this long for one chunk is gone or stuck: the blocked write fails
    # and the thread is free. gunicorn makes the socket blocking again before its next request.
    client = request.META.get("gunicorn.socket")
    if isinstance(client, socket.socket):
        client.settimeout(STREAM_WRITE_TIMEOUT)
    response.streaming_content = LimitedStream(chunks, slot_key=slot_key)
    return response
