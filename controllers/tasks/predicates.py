"""The predicates: each a vectorised ``(layout, obs, args, params) -> (progress, success)``.

Thresholds live in ``geometry.py``. Conventions shared by every predicate:

- ``obs`` has shape ``(N, dim)``; both outputs have shape ``(N,)``;
- ``progress`` is in [0, 1], equals 1 exactly where ``success`` holds (it is capped at
  ``MAX_PROGRESS_OFF_SUCCESS`` elsewhere), and grows as the state nears success;
- predicates that need their first object moved (``lifted``, ``above``, ``on``, ``near``, the
  four directions, ``in_region``) give ``APPROACH_WEIGHT`` of their progress to the gripper
  approaching and holding that object, so that a one-stage task such as "lift the red
  block" has a dense reward from the start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from controllers.layout import ObsLayout
from controllers.tasks.geometry import (
    ABOVE_TOL,
    APPROACH_SCALE,
    APPROACH_WEIGHT,
    CENTER_HALF,
    CONTACT_ON,
    MAX_PROGRESS_OFF_SUCCESS,
    ON_TABLE_TOL,
    ON_XY_FRACTION,
    ON_Z_TOL,
    REACH_TOL,
    REGION_OFFSET,
    REGIONS,
    XY_SCALE,
    Z_SCALE,
    region_box,
    shaped,
)
from controllers.tasks.registry import (
    PREDICATES,
    ChoiceParam,
    LengthParam,
    ParamValue,
    predicate,
)

__all__ = ["PREDICATES"]

Args = Sequence[str]
Params = Mapping[str, ParamValue]
Result = tuple[np.ndarray, np.ndarray]


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


@predicate(
    "reach",
    arity=1,
    phrase="reach the {a} block",
    keeping="keeping the gripper at the {a} block",
    summary=f"the pinch point is within {REACH_TOL} m of o's centre",
)
def reach(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    d = _norm(layout.obj_pos(obs, o) - layout.gripper_pos(obs))
    return _finish(shaped(d, REACH_TOL, APPROACH_SCALE), d <= REACH_TOL)


@predicate(
    "grasped",
    arity=1,
    phrase="grasp the {a} block",
    keeping="keeping the {a} block grasped",
    summary="both finger pads touch o, which is between them",
)
def grasped(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    held, approach = _held(layout, obs, o)
    return _finish(approach, held)


@predicate(
    "released",
    arity=1,
    phrase="release the {a} block",
    keeping="keeping the {a} block released",
    summary="neither finger pad touches o",
)
def released(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    cl = layout.contact_left(obs, o)
    cr = layout.contact_right(obs, o)
    free = (cl <= CONTACT_ON) & (cr <= CONTACT_ON)
    return _finish(np.clip(1.0 - 0.5 * (cl + cr), 0.0, 1.0), free)


# --- heights -------------------------------------------------------------------------------


@predicate(
    "lifted",
    arity=1,
    phrase="lift the {a} block{height}",
    keeping="keeping the {a} block lifted{height}",
    summary="o's bottom is at least `height` above the table top",
    params={
        "height": LengthParam(
            default=0.1,
            low=0.0,
            high=0.3,
            phrase=" by {} cm",
            description="lifted: how high o's bottom must be above the table (m)",
        )
    },
)
def lifted(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    height = _length(params, "height")
    bottom = _bottom(layout, obs, o)
    return _moving(layout, obs, o, shaped(height - bottom, 0.0, Z_SCALE), bottom >= height)


@predicate(
    "on_table",
    arity=1,
    phrase="put the {a} block on the table",
    keeping="keeping the {a} block on the table",
    summary=f"o's bottom is within {ON_TABLE_TOL} m of the table top",
)
def on_table(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    (o,) = args
    gap = np.abs(_bottom(layout, obs, o))
    # Not a "moving" predicate: as a constraint it must not pay for touching the object.
    return _finish(shaped(gap, ON_TABLE_TOL, Z_SCALE), gap <= ON_TABLE_TOL)


# --- two objects ---------------------------------------------------------------------------


@predicate(
    "above",
    arity=2,
    phrase="hold the {a} block above the {b} block{margin}",
    keeping="keeping the {a} block above the {b} block{margin}",
    summary=(
        f"a's centre is within `margin` of b's in xy and a's bottom is above b's top "
        f"(tolerance {ABOVE_TOL} m)"
    ),
    params={
        "margin": LengthParam(
            default=0.02,
            low=0.0,
            high=0.1,
            phrase=" within {} cm",
            description="above: largest xy distance between the centres (m)",
        )
    },
)
def above(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    a, b = args
    margin = _length(params, "margin")
    dxy = _xy_dist(layout, obs, a, b)
    top_b = layout.obj_pos(obs, b)[..., 2] + layout.half_size(b)
    gap = layout.obj_pos(obs, a)[..., 2] - layout.half_size(a) - top_b
    success = (dxy < margin) & (gap >= -ABOVE_TOL)
    goal = 0.5 * shaped(dxy, margin, XY_SCALE) + 0.5 * shaped(-gap, ABOVE_TOL, Z_SCALE)
    return _moving(layout, obs, a, goal, success)


@predicate(
    "on",
    arity=2,
    phrase="put the {a} block on the {b} block",
    keeping="keeping the {a} block on the {b} block",
    summary=(
        f"a rests on b: xy distance < {ON_XY_FRACTION} x b's half size and "
        f"z_a - z_b within {ON_Z_TOL} m of the two half sizes"
    ),
)
def on(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    a, b = args
    xy_tol = ON_XY_FRACTION * layout.half_size(b)
    dxy = _xy_dist(layout, obs, a, b)
    dz = layout.obj_pos(obs, a)[..., 2] - layout.obj_pos(obs, b)[..., 2]
    dz = np.abs(dz - layout.half_size(a) - layout.half_size(b))
    success = (dxy < xy_tol) & (dz <= ON_Z_TOL)
    goal = 0.5 * shaped(dxy, xy_tol, XY_SCALE) + 0.5 * shaped(dz, ON_Z_TOL, Z_SCALE)
    return _moving(layout, obs, a, goal, success)


@predicate(
    "near",
    arity=2,
    phrase="move the {a} block near the {b} block{distance}",
    keeping="keeping the {a} block near the {b} block{distance}",
    summary="the xy distance between a and b is below `distance`",
    params={
        "distance": LengthParam(
            default=0.1,
            low=0.0,
            high=0.5,
            phrase=" within {} cm",
            description="near: largest xy distance between the centres (m)",
        )
    },
)
def near(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
    a, b = args
    distance = _length(params, "distance")
    dxy = _xy_dist(layout, obs, a, b)
    return _moving(layout, obs, a, shaped(dxy, distance, XY_SCALE), dxy < distance)


_DIRECTION_MARGIN = LengthParam(
    default=0.03,
    low=0.0,
    high=0.3,
    low_inclusive=True,
    phrase=" by at least {} cm",
    description="left_of/right_of/in_front_of/behind: smallest gap between the centres (m)",
)


def _register_direction(name: str, words: str, axis: int, sign: float, rule: str) -> None:
    """One of the four directional predicates: ``sign * (a - b)`` along ``axis`` > margin."""

    def direction(layout: ObsLayout, obs: np.ndarray, args: Args, params: Params) -> Result:
        a, b = args
        margin = _length(params, "margin")
        ahead = sign * (layout.obj_pos(obs, a)[..., axis] - layout.obj_pos(obs, b)[..., axis])
        shortfall = margin - ahead
        return _moving(layout, obs, a, shaped(shortfall, 0.0, XY_SCALE), shortfall < 0)

    direction.__name__ = direction.__qualname__ = name
    predicate(
        name,
        arity=2,
        phrase=f"put the {{a}} block {words} the {{b}} block{{margin}}",
        keeping=f"keeping the {{a}} block {words} the {{b}} block{{margin}}",
        summary=f"{rule} (world frame: right = +x, behind = +y)",
        params={"margin": _DIRECTION_MARGIN},
    )(direction)


_register_direction("left_of", "left of", 0, -1.0, "x_a < x_b - margin")
_register_direction("right_of", "right of", 0, +1.0, "x_a > x_b + margin")
_register_direction("in_front_of", "in front of", 1, -1.0, "y_a < y_b - margin")
_register_direction("behind", "behind", 1, +1.0, "y_a > y_b + margin")


# --- regions of the table ------------------------------------------------------------------


@predicate(
    "in_region",
    arity=1,
    phrase="move the {a} block to the {region} of the table",
    keeping="keeping the {a} block in the {region} of the table",
    summary="o's centre is inside the named part of the table (xy only)",
    params={
        "region": ChoiceParam(
            words={
                "left": "left side",
                "right": "right side",
                "front": "front",
                "back": "back",
                "center": "center",
            },
            description=(
                f"in_region: part of the table (world frame, m); left: x <= -{REGION_OFFSET}, "
                f"right: x >= {REGION_OFFSET}, front: y <= -{REGION_OFFSET}, "
                f"back: y >= {REGION_OFFSET}, center: |x|, |y| <= {CENTER_HALF}"
            ),
        )
    },
)
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
