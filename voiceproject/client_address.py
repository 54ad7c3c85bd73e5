"""The address a request came from, the one rule every per-client limit uses.

The peer's address (REMOTE_ADDR) is the client, unless the peer is one of TRUSTED_PROXIES:
then the client is the right-most address of X-Forwarded-For that is not itself a trusted
proxy. Each proxy appends the address it saw, so the entries right of that one were written
by our own proxies; anything to its left was written by the client and may be made up.
"""

from ipaddress import IPv4Address, IPv6Address, ip_address

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text, as the login lockouts and throttles count it."""
    peer = request.META.get("REMOTE_ADDR", "")
    address = _parsed(peer)
    if address is None or not _is_trusted_proxy(address):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        hop = _parsed(entry.strip())
        if hop is None:
            # A malformed entry: what lies left of it cannot be placed; the last good hop is
            # the best known client.
            break
        address = hop
        if not _is_trusted_proxy(hop):
            break
    return str(address)


def _parsed(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _is_trusted_proxy(address: IPv4Address | IPv6Address) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)
