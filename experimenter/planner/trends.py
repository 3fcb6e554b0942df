"""The offline experimenter's progress analysis: level and slope of a success curve.

- **level**: mean success of the last ``LEVEL_POINTS`` evaluations (one noisy evaluation
  neither promotes nor condemns a skill);
- **rise**: the least-squares slope over the recent evaluations times their span of env
  steps, i.e. how much the fitted line climbed across them. Recent is the later half of
  the skill's training (and at least the last ``WINDOW`` evaluations): a hard skill climbs
  a few points per ten thousand env steps, less than one 10-episode evaluation's noise, so
  a fixed window of four evaluations (~10k env steps) read stacking's steady climb from 0 to
  30-40 % over 33k env steps as flat and failed it.

Verdicts: *learned* when the level reaches the threshold and the newest point is within
``HOLD_TOLERANCE`` of it; *improving* when fewer than ``MIN_POINTS`` evaluations exist or
the rise is at least ``MIN_RISE``; *stalled* otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from experimenter.planner.answers import Verdict
from experimenter.planner.inputs import CurvePoint

LEVEL_POINTS = 2
WINDOW = 4
MIN_POINTS = 3
MIN_RISE = 0.05
HOLD_TOLERANCE = 0.1


def level(points: Sequence[CurvePoint]) -> float:
    tail = points[-LEVEL_POINTS:]
    return sum(p.success_rate for p in tail) / len(tail) if tail else 0.0


def recent(points: Sequence[CurvePoint]) -> Sequence[CurvePoint]:
    """The later half of the curve by env steps, or its last ``WINDOW`` points if more."""
    if not points:
        return points
    half = (points[0].env_steps + points[-1].env_steps) / 2
    later = [p for p in points if p.env_steps >= half]
    return later if len(later) >= WINDOW else points[-WINDOW:]


def rise(points: Sequence[CurvePoint]) -> float:
    """Climb of the least-squares line over the ``recent`` points (0 for fewer than 2)."""
    tail = recent(points)
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
    span = points[-1].env_steps - recent(points)[0].env_steps
    numbers = f"level {lvl:.0%}, rise {climb:+.0%} over the last {span} env steps"
    if lvl >= threshold and last >= threshold - HOLD_TOLERANCE:
        return "learned", f"{numbers}; at or above {threshold:.0%}", min(0.95, 0.6 + 0.1 * n)
    if n < MIN_POINTS:
        return "improving", f"{numbers}; too few evaluations to judge", 0.3
    if climb >= MIN_RISE:
        return "improving", f"{numbers}; still rising", min(0.9, 0.5 + climb)
    return "stalled", f"{numbers}; flat below {threshold:.0%}", min(0.9, 0.5 + 0.1 * (n - 2))
