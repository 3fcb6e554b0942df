"""The predicates of the task language: their names, arguments, parameters and phrases.

Each ``declare`` says what a predicate means (its summary quotes the thresholds of
``geometry.py``) and how it reads in an instruction. How it is evaluated on an observation
lives in ``controllers/predicates.py``, registered under the same name. The order here is the
order of the catalogue, the schema's descriptions and the parser's help.
"""

from __future__ import annotations

from tasks.geometry import (
    ABOVE_TOL,
    CENTER_HALF,
    ON_TABLE_TOL,
    ON_XY_FRACTION,
    ON_Z_TOL,
    REACH_TOL,
    REGION_OFFSET,
)
from tasks.registry import PREDICATES, ChoiceParam, LengthParam, declare

__all__ = ["PREDICATES"]

# --- the gripper and the object ------------------------------------------------------------

declare(
    "reach",
    arity=1,
    phrase="reach the {a} block",
    keeping="keeping the gripper at the {a} block",
    summary=f"the pinch point is within {REACH_TOL} m of o's centre",
)

declare(
    "grasped",
    arity=1,
    phrase="grasp the {a} block",
    keeping="keeping the {a} block grasped",
    summary="both finger pads touch o, which is between them",
)

declare(
    "released",
    arity=1,
    phrase="release the {a} block",
    keeping="keeping the {a} block released",
    summary="neither finger pad touches o",
)

# --- heights -------------------------------------------------------------------------------

declare(
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

declare(
    "on_table",
    arity=1,
    phrase="put the {a} block on the table",
    keeping="keeping the {a} block on the table",
    summary=f"o's bottom is within {ON_TABLE_TOL} m of the table top",
)

# --- two objects ---------------------------------------------------------------------------

declare(
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

declare(
    "on",
    arity=2,
    phrase="put the {a} block on the {b} block",
    keeping="keeping the {a} block on the {b} block",
    summary=(
        f"a rests on b: xy distance < {ON_XY_FRACTION} x b's half size and "
        f"z_a - z_b within {ON_Z_TOL} m of the two half sizes"
    ),
)

declare(
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

_DIRECTION_MARGIN = LengthParam(
    default=0.03,
    low=0.0,
    high=0.3,
    low_inclusive=True,
    phrase=" by at least {} cm",
    description="left_of/right_of/in_front_of/behind: smallest gap between the centres (m)",
)


def _declare_direction(name: str, words: str, rule: str) -> None:
    """One of the four directional predicates: ``a`` lies ``words`` ``b`` by ``margin``."""
    declare(
        name,
        arity=2,
        phrase=f"put the {{a}} block {words} the {{b}} block{{margin}}",
        keeping=f"keeping the {{a}} block {words} the {{b}} block{{margin}}",
        summary=f"{rule} (world frame: right = +x, behind = +y)",
        params={"margin": _DIRECTION_MARGIN},
    )


_declare_direction("left_of", "left of", "x_a < x_b - margin")
_declare_direction("right_of", "right of", "x_a > x_b + margin")
_declare_direction("in_front_of", "in front of", "y_a < y_b - margin")
_declare_direction("behind", "behind", "y_a > y_b + margin")


# --- regions of the table ------------------------------------------------------------------

declare(
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
