"""Counts of events per key over a fixed window, in the shared cache (Redis when configured),
so that every server process sees the same count.

While the cache does not answer, nothing is counted and nothing is throttled: an outage of
Redis must not keep anyone from changing or resetting a password. It is logged.
"""

import hashlib
import logging

from django.core.cache import cache
from redis import RedisError

logger = logging.getLogger(__name__)


def _cache_key(scope: str, key: str) -> str:
    # Hashed: keys come from outside (addresses typed into a form) and may be any length.
    return f"throttle:{scope}:{hashlib.sha256(key.encode()).hexdigest()}"


def throttle_count(*, scope: str, key: str, window: int) -> int:
    """Count one more event for `key` and return the count within the current window, which
    starts with the first event and lasts `window` seconds."""
    cache_key = _cache_key(scope, key)
    try:
        cache.add(cache_key, 0, timeout=window)
        try:
            return int(cache.incr(cache_key))
        except ValueError:
            # The window ended between the two calls: this event opens the next.
            cache.set(cache_key, 1, timeout=window)
            return 1
    except RedisError as error:
        logger.warning("Not throttling %s: the cache failed (%s).", scope, error)
        return 0


def throttle_reached(*, scope: str, key: str, limit: int) -> bool:
    """Whether `key` already counts `limit` events in its current window."""
    try:
        return int(cache.get(_cache_key(scope, key), 0)) >= limit
    except RedisError as error:
        logger.warning("Not throttling %s: the cache failed (%s).", scope, error)
        return False
