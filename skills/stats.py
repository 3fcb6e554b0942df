"""How sure a measured success rate is: the Wilson score interval.

A skill is promoted on a bound, not on a point estimate: 8 successes in 10 episodes is a
success rate of 80 %, but the Wilson 95 % lower bound is only 49 %; 48 in 50 gives 86 %.
The Wilson interval (Wilson 1927; Brown, Cai & DasGupta 2001) stays inside [0, 1] and keeps
close to its nominal coverage for the small counts evaluations have, unlike the normal
approximation.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054
"""The two-sided 95 % normal quantile."""


def wilson_interval(successes: int, episodes: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success rate measured as ``successes`` of ``episodes``."""
    if episodes <= 0:
        raise ValueError(f"episodes must be positive, got {episodes}")
    if not 0 <= successes <= episodes:
        raise ValueError(f"successes must be in 0..{episodes}, got {successes}")
    p = successes / episodes
    z2 = z * z
    centre = (p + z2 / (2 * episodes)) / (1 + z2 / episodes)
    half = z * math.sqrt(p * (1 - p) / episodes + z2 / (4 * episodes**2)) / (1 + z2 / episodes)
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_lower(successes: int, episodes: int, z: float = Z95) -> float:
    """The Wilson 95 % lower bound of a success rate (what promotion must clear)."""
    return wilson_interval(successes, episodes, z)[0]
