"""Small line charts drawn on the server as inline SVG: numbers in, coordinates out.

No charting library ships to the browser; the template turns a Chart into <svg> elements
whose attributes are only numbers and class names, so nothing from the data reaches the
markup unescaped, and colours come from the stylesheet (the CSP forbids inline styles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

WIDTH, HEIGHT = 300, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 8, 22


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # shown as the point's tooltip


@dataclass(frozen=True)
class Line:
    name: str
    css: str  # "series-0", "series-1", ...
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    title: str
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT
    top: int = TOP


def _range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2g}"


def ticks(low: float, high: float, start: float, end: float, count: int = 3) -> tuple[Tick, ...]:
    """`count` evenly spaced ticks from low to high, placed between pixel positions start and end."""
    return tuple(Tick(start + (end - start) * i / (count - 1), _label(low + (high - low) * i / (count - 1)))
                 for i in range(count))


def whole_ticks(low: int, high: int, start: float, end: float, most: int = 6) -> tuple[Tick, ...]:
    """Ticks on whole numbers only (generations), at most `most` of them."""
    step = max(1, math.ceil((high - low) / (most - 1)))
    return tuple(Tick(start + (end - start) * (v - low) / ((high - low) or 1), str(v))
                 for v in range(low, high + 1, step))


def line_chart(title: str, xs: Sequence[float], series: Mapping[str, Sequence[float]]) -> Chart:
    """One chart, a line per series, all over the same x values."""
    values = [v for ys in series.values() for v in ys if v is not None and math.isfinite(v)]
    if not xs or not values:
        return Chart(title, (), (), ())
    (x_low, x_high), (y_low, y_high) = _range(list(xs)), _range(values)

    def x_at(x: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (x - x_low) / (x_high - x_low)

    def y_at(y: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * (y - y_low) / (y_high - y_low)

    lines = tuple(Line(name, f"series-{i % 6}", tuple(Point(x_at(x), y_at(y), f"{name} at {x:g}: {y:.3g}")
                                                      for x, y in zip(xs, ys) if y is not None and math.isfinite(y)))
                  for i, (name, ys) in enumerate(series.items()))
    whole = all(float(x).is_integer() for x in xs) and len(set(xs)) > 1
    x_ticks = whole_ticks(int(min(xs)), int(max(xs)), x_at(min(xs)), x_at(max(xs))) if whole \
        else ticks(x_low, x_high, LEFT, WIDTH - RIGHT)
    return Chart(title, lines, x_ticks, ticks(y_low, y_high, HEIGHT - BOTTOM, TOP))
