"""How a predicate's progress is shaped short of success: the decay, its scales and weights.

The thresholds that say *when* a predicate holds are part of the task language
(``tasks/geometry.py``); these constants only say how the dense reward leads up to them, so
they live with the evaluators (``controllers/predicates.py``).
"""

from __future__ import annotations

import numpy as np

# Shaping scales: the distance past the threshold at which progress falls to 1/e.
XY_SCALE = 0.1
"""Scale of horizontal distances (m): about the spacing between blocks at reset."""
Z_SCALE = 0.05
"""Scale of vertical distances (m): about one block height."""
APPROACH_SCALE = 0.1
"""Scale of the gripper-to-object distance in the approach term (m)."""

APPROACH_WEIGHT = 0.3
"""Share of a "move object o" predicate's progress given to holding o (the rest: the goal)."""

MAX_PROGRESS_OFF_SUCCESS = 0.999
"""Progress is capped here wherever success does not hold, so progress == 1 iff success."""


def shaped(d: np.ndarray, threshold: float, scale: float) -> np.ndarray:
    """Smooth progress for a distance ``d``: 1 up to ``threshold``, then decaying.

    ``1 if d <= threshold else exp(-(d - threshold) / scale)``: monotone non-increasing in
    ``d``, in (0, 1], continuous at the threshold.
    """
    return np.exp(-np.maximum(d - threshold, 0.0) / scale)
