"""Each part of the inbound flow keeps its models in a module of its own."""

from inbound.models.blocklist import BlockedCaller

__all__ = ["BlockedCaller"]
