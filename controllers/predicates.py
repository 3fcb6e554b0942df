"""The predicates' evaluators: vectorised ``(layout, obs, args, params) -> (progress, success)``.

A predicate is declared once in the task language (``tasks/predicates.py``: its name,
arguments, parameters and phrases); its evaluator is registered here under the same name with
``@evaluates(name)``, and ``EVALUATORS`` holds them all (a test checks that every declared
predicate has an evaluator and every evaluator a declaration). Thresholds live in
``tasks/geometry.py``, shaping in ``shaping.py``. Conventions shared by every evaluator:

- ``obs`` has shape ``(N, dim)``; both outputs have shape ``(N,)``;
- ``progress`` is in [0, 1], equals 1 exactly where ``success`` holds (it is capped at
  ``MAX_PROGRESS_OFF_SUCCESS`` elsewhere), and grows as the state nears success;
- predicates that need their first object moved (``lifted``, ``above``, ``on``, ``near``, the
  four directions, ``in_region``) give ``APPROACH_WEIGHT`` of their progress to the gripper
  approaching and holding that object, so that a one-stage task such as "lift the red
  block" has a dense reward from the start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

import numpy as np

from controllers.layout import ObsLayout
from controllers.shaping import (
    APPROACH_SCALE,
    APPROACH_WEIGHT,
    MAX_PROGRESS_OFF_SUCCESS,
    XY_SCALE,
    Z_SCALE,
    shaped,
)
from tasks.geometry import (
    ABOVE_TOL,
    ON_TABLE_TOL,
    ON_XY_FRACTION,
    ON_Z_TOL,
    REACH_TOL,
    REGIONS,
    region_box,
)
from tasks.predicates import PREDICATES
from tasks.registry import ParamValue

Args = Sequence[str]
Params = Mapping[str, ParamValue]
Result = tuple[np.ndarray, np.ndarray]

Evaluator: TypeAlias = Callable[[ObsLayout, np.ndarray, Args, Params], Result]
"""``(layout, obs (N, dim), args, params) -> (progress float[N] in [0, 1], success bool[N])``."""

EVALUATORS: dict[str, Evaluator] = {}
"""The evaluator of every declared predicate, by name; filled by ``@evaluates`` below."""

CONTACT_ON = 0.5
"""A contact flag counts as set above this value (flags are 0.0 or 1.0)."""


def evaluates(name: str) -> Callable[[Evaluator], Evaluator]:
    """Register the decorated function as the evaluator of the declared predicate ``name``."""

    def register(fn: Evaluator) -> Evaluator:
        if name not in PREDICATES:
            raise ValueError(f"{name!r} is not a declared predicate; declared: {list(PREDICATES)}")
        if name in EVALUATORS:
            raise ValueError(f"predicate {name!r} has two evaluators")
        EVALUATORS[name] = fn
        return fn

    return register


# --- shared pieces -------------------------------------------------------------------------


def _finish(progress: np.ndarray, success: np.ndarray) -> Result:
    """Progress 1 exactly where success holds, capped below 1 elsewhere."""
    # max/min with the boolean rather than np.where: same result, fewer temporaries.
    return np.maximum(np.minimum(progress, MAX_PROGRESS_OFF_SUCCESS), success), success


def _bottom(layout: ObsLayout, obs: np.ndarray, o: str) -> np.ndarray:
    """Height of object ``o``'s bottom face above the table top (m)."""
    return layout.obj_pos(obs, o)[..., 2] - layout.half_size(o) - layout.table_z


def _held(layout: ObsLayout, obs: np.ndarray, o: str) -> tuple[np.ndarray, np.ndarray]:
    """``(held, approach)``: ``o`` is held (both pads touch it, and it is between them);
    and a [0, 1] score of getting there, in which a pad's touch counts only with ``o``
    between the pads (touching its top with closed fingers is no step towards a grasp)."""
    between = layout.between_pads(obs, o)
    cl = layout.contact_left(obs, o)
    cr = layout.contact_right(obs, o)
    held = (cl > CONTACT_ON) & (cr > CONTACT_ON) & between
    d = _norm(layout.obj_pos(obs, o) - layout.gripper_pos(obs))
    approach = 0.5 * shaped(d, REACH_TOL, APPROACH_SCALE) + 0.25 * (cl + cr) * between
    return held, np.maximum(approach, held)  # 1 where held; approach <= 1 elsewhere


def _moving(
    layout: ObsLayout, obs: np.ndarray, o: str, goal: np.ndarray, success: np.ndarray
) -> Result:
    """Progress of a predicate that needs ``o`` moved: part holding ``o``, part the goal."""
    _, approach = _held(layout, obs, o)
    return _finish(APPROACH_WEIGHT * approach + (1.0 - APPROACH_WEIGHT) * goal, success)


def _norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (cheaper than np.linalg.norm on small batches)."""
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def _xy_dist(layout: ObsLayout, obs: np.ndarray, a: str, b: str) -> np.ndarray:
    d = layout.obj_pos(obs, a)[..., :2] - layout.obj_pos(obs, b)[..., :2]
    return np.hypot(d[..., 0], d[..., 1])


def _length(params: Params, name: str) -> float:
    value = params[name]
    assert isinstance(value, float | int), f"{name} must be a length, got {value!r}"
    return float(value)


# --- the gripper and the object ------------------------------------------------------------


@evaluates("reach")
def reach(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    d = _norm(layout.obj_pos(obs, o) - layout.gripper_pos(obs))
    return _finish(shaped(d, REACH_TOL, APPROACH_SCALE), d <= REACH_TOL)


@evaluates("grasped")
def grasped(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    held, approach = _held(layout, obs, o)
    return _finish(approach, held)


@evaluates("released")
def released(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    cl = layout.contact_left(obs, o)
    cr = layout.contact_right(obs, o)
    free = (cl <= CONTACT_ON) & (cr <= CONTACT_ON)
    return _finish(np.clip(1.0 - 0.5 * (cl + cr), 0.0, 1.0), free)


# --- heights -------------------------------------------------------------------------------


@evaluates("lifted")
def lifted(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    height = _length(params, "height")
    bottom = _bottom(layout, obs, o)
    return _moving(layout, obs, o, shaped(height - bottom, 0.0, Z_SCALE), bottom >= height)


@evaluates("on_table")
def on_table(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    gap = np.abs(_bottom(layout, obs, o))
    # Not a "moving" predicate: as a constraint it must not pay for touching the object.
    return _finish(shaped(gap, ON_TABLE_TOL, Z_SCALE), gap <= ON_TABLE_TOL)


# --- two objects ---------------------------------------------------------------------------


@evaluates("above")
def above(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    a, b = args
    margin = _length(params, "margin")
    dxy = _xy_dist(layout, obs, a, b)
    top_b = layout.obj_pos(obs, b)[..., 2] + layout.half_size(b)
    gap = layout.obj_pos(obs, a)[..., 2] - layout.half_size(a) - top_b
    success = (dxy < margin) & (gap >= -ABOVE_TOL)
    goal = 0.5 * shaped(dxy, margin, XY_SCALE) + 0.5 * shaped(-gap, ABOVE_TOL, Z_SCALE)
    return _moving(layout, obs, a, goal, success)


@evaluates("on")
def on(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    a, b = args
    xy_tol = ON_XY_FRACTION * layout.half_size(b)
    dxy = _xy_dist(layout, obs, a, b)
    dz = layout.obj_pos(obs, a)[..., 2] - layout.obj_pos(obs, b)[..., 2]
    dz = np.abs(dz - layout.half_size(a) - layout.half_size(b))
    success = (dxy < xy_tol) & (dz <= ON_Z_TOL)
    goal = 0.5 * shaped(dxy, xy_tol, XY_SCALE) + 0.5 * shaped(dz, ON_Z_TOL, Z_SCALE)
    return _moving(layout, obs, a, goal, success)


@evaluates("near")
def near(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    a, b = args
    distance = _length(params, "distance")
    dxy = _xy_dist(layout, obs, a, b)
    return _moving(layout, obs, a, shaped(dxy, distance, XY_SCALE), dxy < distance)


def _register_direction(name: str, axis: int, sign: float) -> None:
    """One of the four directional predicates: ``sign * (a - b)`` along ``axis`` > margin."""

    def direction(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
        a, b = args
        margin = _length(params, "margin")
        ahead = sign * (layout.obj_pos(obs, a)[..., axis] - layout.obj_pos(obs, b)[..., axis])
        shortfall = margin - ahead
        return _moving(layout, obs, a, shaped(shortfall, 0.0, XY_SCALE), shortfall < 0)

    direction.__name__ = direction.__qualname__ = name
    evaluates(name)(direction)


_register_direction("left_of", 0, -1.0)
_register_direction("right_of", 0, +1.0)
_register_direction("in_front_of", 1, -1.0)
_register_direction("behind", 1, +1.0)


# --- regions of the table ------------------------------------------------------------------


@evaluates("in_region")
def in_region(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    region = params["region"]
    assert isinstance(region, str) and region in REGIONS, region
    x0, x1, y0, y1 = region_box(region, layout.scene.table_half)
    pos = layout.obj_pos(obs, o)
    # Distance from the object's centre to the box (0 inside), in xy.
    dx = np.maximum(np.maximum(x0 - pos[..., 0], pos[..., 0] - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - pos[..., 1], pos[..., 1] - y1), 0.0)
    outside = np.hypot(dx, dy)
    return _moving(layout, obs, o, shaped(outside, 0.0, XY_SCALE), outside <= 0.0)
