"""Stacked bar charts drawn on the server as SVG geometry; templates/calls/_bar_chart.html
renders them. No JavaScript and nothing from a CDN."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from calls.constants import FamilyKind

KIND_COLORS: dict[str, str] = {
    FamilyKind.INBOUND: "#2b59c3",
    FamilyKind.OUTBOUND: "#17a398",
    FamilyKind.INTERNAL: "#8e6bbf",
    FamilyKind.OTHER: "#f2a541",
}
OTHER_COLOR = "#9aa3b5"
WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 44, 22, 8
GRIDLINES = 4

Column = TypeVar("Column")  # what a column stands for: a day, an hour


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_labels: list[Tick]
    legend: list[tuple[str, str]]  # (color, name)
    table: list[tuple[str, list[int], int]]  # the numbers drawn: (label, per series, total)


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, OTHER_COLOR)


def _tick_step(largest: int, intervals: int) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten that fits `largest` in
    `intervals` steps, so that every gridline has a round label."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale * intervals >= largest:
                return step * scale
        scale *= 10


def stacked_bar_chart(
    columns: Mapping[Column, Mapping[str, int]],
    *,
    series: list[str],
    label: Callable[[Column], str],
    every: int = 1,
    unit: str = "calls",
) -> BarChart:
    """Stack each column's counts per series; `label(key)` names a column on the x axis,
    shown on every `every`-th column so labels never overlap."""
    plot_width = WIDTH - LEFT
    plot_height = HEIGHT - BOTTOM - TOP
    baseline = HEIGHT - BOTTOM
    largest = max((sum(counts.values()) for counts in columns.values()), default=0)
    step = _tick_step(largest, GRIDLINES)
    top = step * GRIDLINES
    slot = plot_width / max(len(columns), 1)
    bar_width = max(slot * 0.8, 1)
    bars, x_labels, table = [], [], []
    for index, (key, counts) in enumerate(columns.items()):
        x = LEFT + index * slot + (slot - bar_width) / 2
        y: float = baseline
        for name in series:
            count = counts.get(name, 0)
            if not count:
                continue
            height = count / top * plot_height
            y -= height
            title = f"{label(key)}: {count} {name or 'unknown'} {unit}"
            bars.append(Bar(x, y, bar_width, height, kind_color(name), title))
        table.append((label(key), [counts.get(name, 0) for name in series], sum(counts.values())))
        if index % every == 0:
            x_labels.append(Tick(x + bar_width / 2, label(key)))
    y_ticks = [
        Tick(baseline - line / GRIDLINES * plot_height, f"{line * step:,}")
        for line in range(GRIDLINES + 1)
    ]
    legend = [(kind_color(name), name or "unknown") for name in series]
    return BarChart(WIDTH, HEIGHT, LEFT, baseline, bars, y_ticks, x_labels, legend, table)
