"""Physical facts of the arena and the thresholds that say when each predicate holds.

The predicates' declarations (``predicates.py``, whose summaries quote them), the
validator's contradiction rules and the evaluators (``controllers/predicates.py``) all read
these constants, so that a threshold changed here changes everywhere. How progress is shaped
short of a threshold is the evaluators' business (``controllers/shaping.py``).

Facts of the arena relied upon (see ``controllers/layout.py`` for the frame table):

- the table top is the plane ``z = layout.table_z``, a square of half side
  ``layout.scene.table_half`` centred on ``x = y = 0``;
- a cube of half size ``h = layout.half_size(name)`` (0.025 m by default) resting on the
  table has its centre at ``z = table_z + h``;
- the gripper is a parallel-jaw gripper pointing down; its maximum opening is
  ``GRIPPER_MAX_OPENING``; the "gripper position" is the pinch point between the pads;
- an object's contact flags are 1.0 while a finger pad touches it, else 0.0.

Named regions of the table, in the world frame (right = +x, behind = +y); the outer bound of
each is the table edge ``±table_half``:

| region | x | y |
| --- | --- | --- |
| ``left`` | ``x <= -REGION_OFFSET`` | any |
| ``right`` | ``x >= +REGION_OFFSET`` | any |
| ``front`` | any | ``y <= -REGION_OFFSET`` |
| ``back`` | any | ``y >= +REGION_OFFSET`` |
| ``center`` | ``abs(x) <= CENTER_HALF`` | ``abs(y) <= CENTER_HALF`` |

``left``/``right``, ``front``/``back`` and ``center``/any other region are disjoint (the
validator relies on it); ``left`` and ``front`` (etc.) overlap in a corner.
"""

from __future__ import annotations

GRIPPER_MAX_OPENING = 0.10
"""Largest distance between the finger pads (m)."""

REACH_TOL = 0.03
"""``reach``: pinch point within this distance of the object's centre (m)."""

ABOVE_TOL = 0.005
"""``above``: a's bottom may dip this far below b's top and still count (m); so ``on``
implies ``above`` when the xy distance is within the margin."""

ON_XY_FRACTION = 0.6
"""``on(a, b)``: a's centre within this fraction of b's half size of b's centre, in xy."""

ON_Z_TOL = 0.012
"""``on(a, b)``: ``z_a - z_b`` within this of ``h_a + h_b`` (m)."""

ON_TABLE_TOL = 0.01
"""``on_table``: object bottom within this of the table top (m)."""

REGION_OFFSET = 0.08
"""Inner bound of the ``left``/``right``/``front``/``back`` regions (m from the centre line)."""

CENTER_HALF = 0.06
"""Half side of the square ``center`` region (m); < ``REGION_OFFSET`` so regions are disjoint."""

REGIONS = ("back", "center", "front", "left", "right")
"""Allowed values of ``in_region``'s ``region`` parameter, sorted."""


def region_box(region: str, table_half: float) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` of a named region on a table of half side ``table_half``."""
    t = table_half
    boxes = {
        "left": (-t, -REGION_OFFSET, -t, t),
        "right": (REGION_OFFSET, t, -t, t),
        "front": (-t, t, -t, -REGION_OFFSET),
        "back": (-t, t, REGION_OFFSET, t),
        "center": (-CENTER_HALF, CENTER_HALF, -CENTER_HALF, CENTER_HALF),
    }
    if region not in boxes:
        raise ValueError(f"unknown region {region!r}; regions are {list(REGIONS)}")
    return boxes[region]


def regions_disjoint(r1: str, r2: str) -> bool:
    """Whether no point lies in both named regions (independent of the table size)."""
    ax0, ax1, ay0, ay1 = region_box(r1, 1.0)
    bx0, bx1, by0, by1 = region_box(r2, 1.0)
    return ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0
