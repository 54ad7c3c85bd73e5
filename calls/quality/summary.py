"""Read a Voice Insights Call Summary (GET /v1/Voice/{CallSid}/Summary) into what people ask
about, and judge it good or poor.

Everything comes from outside: each field is read where it is, and a missing, null or
malformed value reads as unknown, never as an error.
"""

import math
from dataclasses import dataclass, field
from typing import Any

# The summary's per-edge objects, as Twilio names them.
EDGES = ("carrier_edge", "client_edge", "sdk_edge", "sip_edge")
# Edge metrics kept, each as Twilio's {"avg": ..., "max": ...}; `latency` is the gateway's
# name for the round trip, `rtt` the SDK's.
STATISTICS = {"jitter": "jitter", "mos": "mos", "rtt": "rtt", "latency": "rtt"}
# Twilio's own judgement of a leg, and what each tag means in words. A leg is poor when it
# has one of them; Twilio applies the thresholds (packet loss above 5 %, gateway latency
# above 150 ms, SDK round trip above 400 ms, MOS below 3.5).
POOR_TAGS = {
    "silence": "silence",
    "high_jitter": "high jitter",
    "high_packet_loss": "packet loss above 5 %",
    "high_latency": "high latency",
    "low_mos": "MOS below 3.5",
    "ice_failure": "no media path (ICE failure)",
    "high_pdd": "slow to ring (post-dial delay)",
}
# Longest text kept from a summary field; longer values are cut.
TEXT_MAX_LENGTH = 32
TAGS_KEPT = 20


@dataclass(frozen=True)
class QualityFacts:
    processing_state: str
    call_state: str = ""
    disconnected_by: str = ""
    tags: list[str] = field(default_factory=list)
    # {edge: {"jitter": {"avg": ms, "max": ms}, "packet_loss": {"avg": %, "max": %},
    #  "mos": {...}, "rtt": {...}}}: each direction's worse figure.
    edges: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    codec: str = ""
    pdd_ms: int | None = None
    last_sip_response_num: int | None = None

    @property
    def poor(self) -> bool:
        return any(tag in POOR_TAGS for tag in self.tags)


def quality_reasons(tags: list[str]) -> list[str]:
    """Why a leg is poor, in words, in the order of POOR_TAGS."""
    return [words for tag, words in POOR_TAGS.items() if tag in tags]


# How each kept statistic reads on a page: its name and unit.
FIGURE_WORDS = {
    "mos": ("MOS", ""),
    "jitter": ("jitter", " ms"),
    "packet_loss": ("packet loss", " %"),
    "rtt": ("round trip", " ms"),
}


def quality_figures(edges: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Each statistic's worst average over the edges, in words: ["MOS 3.1", "jitter 31 ms"]."""
    figures = []
    for name, (words, unit) in FIGURE_WORDS.items():
        averages = [
            statistic["avg"]
            for figures_of_edge in edges.values()
            if isinstance(statistic := figures_of_edge.get(name), dict)
            and isinstance(statistic.get("avg"), int | float)
        ]
        if averages:
            worst = min(averages) if name == "mos" else max(averages)
            figures.append(f"{words} {worst:g}{unit}")
    return figures


def quality_facts(summary: dict[str, Any]) -> QualityFacts:
    """The facts of a summary as the helper library returns it (its JSON, keys snake_case)."""
    properties = _mapping(summary.get("properties"))
    edges: dict[str, dict[str, dict[str, float]]] = {}
    codec = ""
    for edge in EDGES:
        metrics = _mapping(_mapping(summary.get(edge)).get("metrics"))
        directions = [_mapping(metrics.get(name)) for name in ("inbound", "outbound")]
        figures = _edge_figures(directions)
        if figures:
            edges[edge] = figures
        codec = codec or next(
            (_text(direction.get("codec_name")) for direction in directions if direction), ""
        )
    tags = summary.get("tags")
    return QualityFacts(
        processing_state=_text(summary.get("processing_state")),
        call_state=_text(summary.get("call_state")),
        disconnected_by=_text(properties.get("disconnected_by")),
        tags=[_text(tag) for tag in tags if isinstance(tag, str)][:TAGS_KEPT]
        if isinstance(tags, list)
        else [],
        edges=edges,
        codec=codec,
        pdd_ms=_whole(properties.get("pdd_ms")),
        last_sip_response_num=_whole(properties.get("last_sip_response_num")),
    )


def _edge_figures(directions: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each statistic's worse direction: the highest avg and max (the lowest for MOS)."""
    figures: dict[str, dict[str, float]] = {}
    for direction in directions:
        values = [(kept, _mapping(direction.get(name))) for name, kept in STATISTICS.items()]
        loss = direction.get("packets_loss_percentage")
        values.append(("packet_loss", {"avg": loss, "max": loss}))
        for name, statistic in values:
            for key in ("avg", "max"):
                value = _number(statistic.get(key))
                if value is None:
                    continue
                worse = min if name == "mos" else max
                known = figures.setdefault(name, {}).get(key)
                figures[name][key] = value if known is None else worse(known, value)
    return figures


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value[:TEXT_MAX_LENGTH] if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(number, 3) if math.isfinite(number) else None


def _whole(value: object) -> int | None:
    number = _number(value)
    # Twilio's -1 and the like mean "not known"; a PositiveIntegerField keeps the rest.
    if number is None or number < 0 or number >= 2**31:
        return None
    return int(number)
