"""The offline experimenter's progress analysis: level and slope of a success curve.

- **level**: mean success of the last ``LEVEL_POINTS`` evaluations (one noisy evaluation
  neither promotes nor condemns a skill);
- **rise**: the least-squares slope over the last ``WINDOW`` evaluations times their span of
  env steps, i.e. how much the fitted line climbed across the window.

Verdicts: *learned* when the level reaches the threshold and the newest point is within
``HOLD_TOLERANCE`` of it; *improving* when fewer than ``MIN_POINTS`` evaluations exist or
the rise is at least ``MIN_RISE``; *stalled* otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from experimenter.planner.inputs import CurvePoint
from experimenter.planner.schemas import Verdict

LEVEL_POINTS = 2
WINDOW = 4
MIN_POINTS = 3
MIN_RISE = 0.05
HOLD_TOLERANCE = 0.1


def level(points: Sequence[CurvePoint]) -> float:
    tail = points[-LEVEL_POINTS:]
    return sum(p.success_rate for p in tail) / len(tail) if tail else 0.0


def rise(points: Sequence[CurvePoint]) -> float:
    """Climb of the least-squares line over the last ``WINDOW`` points (0 for fewer than 2)."""
    tail = points[-WINDOW:]
    if len(tail) < 2:
        return 0.0
    xs = [float(p.env_steps) for p in tail]
    ys = [p.success_rate for p in tail]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0.0:
        return 0.0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope * (xs[-1] - xs[0])


def judge(points: Sequence[CurvePoint], threshold: float) -> tuple[Verdict, str, float]:
    """``(verdict, reason, confidence)`` for a curve, oldest point first."""
    n = len(points)
    if n == 0:
        return "improving", "no evaluations yet", 0.2
    lvl, climb, last = level(points), rise(points), points[-1].success_rate
    numbers = f"level {lvl:.0%}, rise {climb:+.0%} over the last {min(n, WINDOW)} evaluations"
    if lvl >= threshold and last >= threshold - HOLD_TOLERANCE:
        return "learned", f"{numbers}; at or above {threshold:.0%}", min(0.95, 0.6 + 0.1 * n)
    if n < MIN_POINTS:
        return "improving", f"{numbers}; too few evaluations to judge", 0.3
    if climb >= MIN_RISE:
        return "improving", f"{numbers}; still rising", min(0.9, 0.5 + climb)
    return "stalled", f"{numbers}; flat below {threshold:.0%}", min(0.9, 0.5 + 0.1 * (n - 2))
