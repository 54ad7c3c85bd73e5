"""Twilio's regions and the edges that reach each one: the only place that knows the pairs.

An API key lives in the region it was made in; REST requests and AccessTokens must name that
region, and outside US1 the REST host must also name an edge (`api.{edge}.{region}.twilio.com`;
the edge-less `api.{region}.twilio.com` hosts stopped working on 28 April 2026).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A Twilio region, the edges that reach it and the one used when none is configured."""

    name: str
    edges: tuple[str, ...]
    # None for US1: api.twilio.com (and the Voice SDK's `roaming`) need no edge there.
    default_edge: str | None


REGIONS = {
    region.name: region
    for region in [
        Region(
            name="us1",
            edges=(
                "ashburn",
                "dublin",
                "frankfurt",
                "sao-paulo",
                "singapore",
                "sydney",
                "tokyo",
                "umatilla",
            ),
            default_edge=None,
        ),
        Region(name="ie1", edges=("dublin",), default_edge="dublin"),
        Region(name="au1", edges=("sydney",), default_edge="sydney"),
    ]
}
US1 = "us1"
# The Voice SDK's own default: Twilio picks the nearest edge.
SDK_ROAMING_EDGE = "roaming"


class InvalidRegionEdge(ValueError):
    """TWILIO_REGION and TWILIO_EDGE do not name a pair Twilio serves."""


def region_edge_validated(*, region: str, edge: str) -> tuple[str, str]:
    """Return the (region, edge) to use, filling in the region's default edge.

    An edge without a region means US1, as the helper library reads it. Raise
    InvalidRegionEdge naming the valid choices when Twilio serves no such pair.
    """
    if not region and not edge:
        return "", ""
    name = region or US1
    known = REGIONS.get(name)
    if known is None:
        raise InvalidRegionEdge(
            f"TWILIO_REGION must be one of {', '.join(REGIONS)}; got {region!r}."
        )
    if edge and edge not in known.edges:
        raise InvalidRegionEdge(
            f"TWILIO_EDGE {edge!r} does not reach region {name}; "
            f"use one of {', '.join(known.edges)}."
        )
    return region, edge or known.default_edge or ""


def rest_api_host(*, region: str, edge: str) -> str:
    """The REST API host Twilio serves a validated region and edge pair on."""
    if not region and not edge:
        return "api.twilio.com"
    return ".".join(part for part in ["api", edge, region or US1, "twilio.com"] if part)


def sdk_edge(*, edge: str) -> str:
    """The `edge` option a Voice SDK should connect through for the configured edge."""
    return edge or SDK_ROAMING_EDGE
