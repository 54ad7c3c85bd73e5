"""Strict readers for settings from the environment: a malformed value stops start-up.

Each reader names the variable in its message, so that a typo (TWILIO_VALIDATE_SIGNATURES=flase)
is found at start-up rather than by its effect. An empty or unset variable means the default.
"""

import os
import re
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from voiceproject.twilio_ids import is_sid, sid_error

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def env_str(name: str, *, default: str = "") -> str:
    """Read free text, such as a secret."""
    return _raw(name) or default


def env_bool(name: str, *, default: bool) -> bool:
    """Read a boolean; a typo must stop the server, not silently mean False."""
    value = _raw(name).lower()
    if not value:
        return default
    if value in TRUE_WORDS | FALSE_WORDS:
        return value in TRUE_WORDS
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {os.environ[name]!r}."
    )


def _check_bounds(
    name: str, value: float, *, minimum: float, maximum: float | None, unit: str = ""
) -> None:
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}{unit}; got {value}.")


def env_int(name: str, *, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """Read a whole number within bounds."""
    raw = _raw(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    _check_bounds(name, value, minimum=minimum, maximum=maximum)
    return value


def env_float(
    name: str, *, default: float, minimum: float = 0.0, maximum: float | None = None
) -> float:
    """Read a number (such as seconds) within bounds; nan and infinity are refused."""
    raw = _raw(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number; got {raw!r}.")
    _check_bounds(name, value, minimum=minimum, maximum=maximum)
    return value


def env_choice(name: str, *, default: str, choices: Sequence[str], upper: bool = False) -> str:
    """Read one of a few words (case-folded to upper when asked)."""
    value = _raw(name) or default
    if upper:
        value = value.upper()
    if value not in choices:
        listed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
        raise ImproperlyConfigured(f"{name} must be {listed}; got {value!r}.")
    return value


def env_pattern(name: str, *, pattern: str, description: str, default: str = "") -> str:
    """Read text that must match a pattern when set; description says what is expected."""
    value = _raw(name) or default
    if value and re.fullmatch(pattern, value) is None:
        raise ImproperlyConfigured(f"{name} must be {description}; got {value!r}.")
    return value


def env_sid(name: str, *, prefix: str) -> str:
    """Read a Twilio SID with this prefix, or empty when unset."""
    value = _raw(name)
    if value and not is_sid(value, prefix=prefix):
        raise ImproperlyConfigured(f"{sid_error(name=name, prefix=prefix)} Got {value!r}.")
    return value


def env_url(
    name: str,
    *,
    schemes: Sequence[str],
    default: str = "",
    origin_only: bool = False,
    host_required: bool = True,
) -> str:
    """Read a URL with one of these schemes and a host; trailing slashes are dropped.

    origin_only refuses a path, query or credentials: for base URLs other paths are built on.
    host_required=False lets through sqlite:///path and PostgreSQL over a local socket.
    """
    value = (_raw(name) or default).rstrip("/")
    if not value:
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    listed = " or ".join(f"{scheme}://" for scheme in schemes)
    if parts is None or parts.scheme not in schemes or (host_required and not parts.hostname):
        raise ImproperlyConfigured(f"{name} must be a {listed} URL; got {value!r}.")
    if origin_only and (parts.path or parts.query or parts.fragment or "@" in parts.netloc):
        raise ImproperlyConfigured(
            f"{name} must be a scheme and host only, e.g. https://voice.example.com; got {value!r}."
        )
    return value


def env_list(name: str, *, default: Sequence[str], pattern: str = r"\S+") -> list[str]:
    """Read a comma-separated list; every item must match pattern."""
    raw = _raw(name)
    if not raw:
        return list(default)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        if re.fullmatch(pattern, item) is None:
            raise ImproperlyConfigured(f"{name} has a malformed item {item!r}.")
    return items


def env_networks(name: str) -> list[IPv4Network | IPv6Network]:
    """Read a comma-separated list of addresses or networks (10.0.0.5, 10.0.0.0/8, ::1)."""
    networks = []
    for item in env_list(name, default=[]):
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} has {item!r}, which is neither an IP address nor a network."
            ) from None
    return networks
