"""Charts drawn on the server: SVG sparklines and line charts, and the learning-curve PNG.

The learning curves are the planner's own picture (``skills.plots``), so a person sees what
the model saw; PNGs are cached by their data, since matplotlib takes tens of milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from html import escape

from skills.plots import Curve, learning_curves_png

CACHE_SIZE = 256


class PngCache:
    """Learning-curve PNGs by their exact data (curves and threshold), least recent out."""

    def __init__(self, size: int = CACHE_SIZE):
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def curves(self, curves: Sequence[Curve], *, threshold: float | None = None) -> bytes:
        key = (
            tuple((c.label, tuple(c.steps), tuple(c.rates)) for c in curves),
            threshold,
        )
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        png = learning_curves_png(curves, threshold=threshold)
        with self._lock:
            self._items[key] = png
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return png


class TtlCache:
    """Values kept for ``seconds`` (metric charts: a series of a million points is reduced
    once per interval, however many people watch it)."""

    def __init__(self, seconds: float = 5.0, size: int = CACHE_SIZE):
        self._items: OrderedDict[object, tuple[float, str]] = OrderedDict()
        self._seconds, self._size = seconds, size
        self._lock = threading.Lock()

    def get(self, key: object) -> str | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[0] > self._seconds:
                return None
            return hit[1]

    def put(self, key: object, value: str) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def sparkline(values: Sequence[float], *, width: int = 90, height: int = 22) -> str:
    """An inline SVG of success rates in [0, 1] (newest on the right); a dash when empty."""
    if not values:
        return '<span class="muted">–</span>'
    pad = 2
    n = len(values)
    step = (width - 2 * pad) / max(1, n - 1)

    def y(v: float) -> float:
        return pad + (1 - min(1.0, max(0.0, v))) * (height - 2 * pad)

    pts = " ".join(f"{pad + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    last_x, last_y = pad + (n - 1) * step, y(values[-1])
    label = f"success, newest {values[-1]:.0%} over {n} evaluation(s)"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}"><title>{label}</title>'
        f'<line x1="0" x2="{width}" y1="{y(1.0):.1f}" y2="{y(1.0):.1f}" class="spark-top"/>'
        f'<polyline points="{pts}" fill="none"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2"/></svg>'
    )


def _nice(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    if a >= 10 or a == 0:
        return f"{v:.0f}"
    return f"{v:.3g}"


def line_chart_svg(
    points: Sequence[tuple[int, float]], *, title: str, width: int = 360, height: int = 170
) -> str:
    """A standalone SVG line chart of ``(step, value)`` points with min/max labels."""
    left, right, top, bottom = 44, 10, 22, 26
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="{left}" y="14" font-size="11" font-weight="bold">{escape(title)}</text>'
    )
    if not points:
        return head + f'<text x="{left}" y="{height / 2}" fill="#888">no points yet</text></svg>'
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    w, h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * w

    def sy(v: float) -> float:
        return top + (1 - (v - y0) / (y1 - y0)) * h

    line = " ".join(f"{sx(x):.1f},{sy(v):.1f}" for x, v in points)
    return (
        head
        + f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
        + f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{_nice(y1)}</text>'
        + f'<text x="{left - 4}" y="{top + h}" text-anchor="end">{_nice(y0)}</text>'
        + f'<text x="{left}" y="{height - 8}">{_nice(x0)}</text>'
        + f'<text x="{left + w}" y="{height - 8}" text-anchor="end">{_nice(x1)} steps</text>'
        + f'<polyline points="{line}" fill="none" stroke="#2a6fdb" stroke-width="1.4"/>'
        + "</svg>"
    )
