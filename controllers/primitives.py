"""Scripted primitives: the seed skills, each a small feedback controller on observations.

A primitive is created with its arguments (``grasp("red")``), bound to an observation with
``start(obs)`` (it may remember where things were), then asked for ``act(obs)`` until
``done(obs)`` (its own success check) or its ``timeout`` in control steps. Every primitive
also states what it achieves as a task-language spec (``spec()``), so the skill library
can hold it next to learned skills.

Primitives read only the observation vector (``controllers.layout``), never the simulator,
so they run on any copy of the arena and on recorded data alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from controllers.arena import MAX_SPEED
from controllers.layout import ObsLayout
from controllers.scene import MAX_OPENING, TIMESTEP

OPEN, CLOSE = -1.0, 1.0
CLEARANCE = 0.06
"""Height (m) above an object's top at which the gripper travels sideways."""
XY_TOL = 0.008
"""Horizontal alignment (m) required before descending onto an object."""

DIRECTIONS: dict[str, np.ndarray] = {
    "left": np.array([-1.0, 0.0]),
    "right": np.array([1.0, 0.0]),
    "front": np.array([0.0, -1.0]),
    "back": np.array([0.0, 1.0]),
}


def move_to(grip_pos: np.ndarray, target: np.ndarray, gripper: float, gain: float) -> np.ndarray:
    """Proportional velocity command towards ``target``; halves the error every step."""
    v = np.clip((target - grip_pos) * gain, -1.0, 1.0)
    return np.array([v[0], v[1], v[2], gripper])


@dataclass
class Primitive:
    """Base of the scripted skills: bound to a layout, started on an observation."""

    layout: ObsLayout
    """Observation layout of the scene the primitive acts in."""
    timeout: int = 60
    """Control steps before the primitive gives up."""
    control_dt: float = 25 * TIMESTEP
    """Duration of one control step (s) of the arena it drives."""
    steps: int = field(default=0, init=False)
    name: ClassVar[str] = "primitive"

    def __post_init__(self) -> None:
        # Gain such that one control step closes half the position error (no overshoot).
        self._gain = 0.5 / (MAX_SPEED * self.control_dt)

    def start(self, obs: np.ndarray) -> None:
        self.steps = 0

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.steps += 1
        return self._act(obs)

    def _act(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def done(self, obs: np.ndarray) -> bool:
        raise NotImplementedError

    def timed_out(self) -> bool:
        return self.steps >= self.timeout

    def spec(self) -> dict[str, Any]:
        """What this primitive achieves, in the task language."""
        raise NotImplementedError

    # Helpers shared by the primitives.
    def _pos(self, obs: np.ndarray, name: str) -> np.ndarray:
        return np.asarray(self.layout.obj_pos(obs, name), dtype=np.float64)

    def _grip(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(self.layout.gripper_pos(obs), dtype=np.float64)

    def _holding(self, obs: np.ndarray, name: str) -> bool:
        return bool(self.layout.holding(obs, name))

    def _held_object(self, obs: np.ndarray) -> str | None:
        for name in self.layout.object_names:
            if self._holding(obs, name):
                return name
        return None

    def _top(self, obs: np.ndarray, name: str) -> float:
        return float(self._pos(obs, name)[2] + self.layout.half_size(name))


@dataclass
class Reach(Primitive):
    """Bring the open gripper's pinch point to the object's centre, coming from above."""

    obj: str = "red"
    name: ClassVar[str] = "reach"

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g, p = self._grip(obs), self._pos(obs, self.obj)
        aligned = np.linalg.norm(p[:2] - g[:2]) < XY_TOL
        # Descend only once aligned, so the fingers never land on the block.
        if aligned:
            target = p.copy()
        else:
            target = np.array([p[0], p[1], max(g[2], self._top(obs, self.obj) + CLEARANCE)])
            if g[2] < self._top(obs, self.obj) + CLEARANCE - 0.01:
                target[:2] = g[:2]  # rise first
        return move_to(g, target, OPEN, self._gain)

    def done(self, obs: np.ndarray) -> bool:
        g, p = self._grip(obs), self._pos(obs, self.obj)
        return bool(np.linalg.norm(p - g) < 0.01 and self.layout.gripper_opening(obs) > 0.08)

    def spec(self) -> dict[str, Any]:
        return {"stages": [{"all": [{"pred": "reach", "args": [self.obj]}]}]}


@dataclass
class Grasp(Primitive):
    """Close the gripper on the object it surrounds; done after a firm two-finger grip."""

    obj: str = "red"
    timeout: int = 15
    name: ClassVar[str] = "grasp"
    _held_for: int = field(default=0, init=False)

    def start(self, obs: np.ndarray) -> None:
        super().start(obs)
        self._held_for = 0

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g, p = self._grip(obs), self._pos(obs, self.obj)
        target = np.array([p[0], p[1], g[2]])
        self._held_for = self._held_for + 1 if self._holding(obs, self.obj) else 0
        return move_to(g, target, CLOSE, self._gain)

    def done(self, obs: np.ndarray) -> bool:
        # Two steps of contact: the fingers have stopped and squeeze.
        return self._held_for >= 2 and self._holding(obs, self.obj)

    def spec(self) -> dict[str, Any]:
        return {"stages": [{"all": [{"pred": "grasped", "args": [self.obj]}]}]}


@dataclass
class Lift(Primitive):
    """Raise the held object until its bottom is ``height`` above the table."""

    obj: str = "red"
    height: float = 0.1
    name: ClassVar[str] = "lift"
    _offset: float = field(default=0.0, init=False)

    def start(self, obs: np.ndarray) -> None:
        super().start(obs)
        # Where the object sits in the hand: pinch-to-centre height, kept while lifting.
        self._offset = float(self._pos(obs, self.obj)[2] - self._grip(obs)[2])

    def _bottom(self, obs: np.ndarray) -> float:
        return float(self._pos(obs, self.obj)[2] - self.layout.half_size(self.obj))

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g = self._grip(obs)
        z = self.layout.table_z + self.height + 0.01 + self.layout.half_size(self.obj)
        return move_to(g, np.array([g[0], g[1], z - self._offset]), CLOSE, self._gain)

    def done(self, obs: np.ndarray) -> bool:
        return self._bottom(obs) - self.layout.table_z >= self.height and self._holding(
            obs, self.obj
        )

    def spec(self) -> dict[str, Any]:
        atom = {"pred": "lifted", "args": [self.obj], "height": self.height}
        return {"stages": [{"all": [atom]}]}


@dataclass
class MoveAbove(Primitive):
    """Carry the held object (or the empty gripper) over ``obj``, clear of its top."""

    obj: str = "blue"
    name: ClassVar[str] = "move_above"
    _held: str | None = field(default=None, init=False)

    def start(self, obs: np.ndarray) -> None:
        super().start(obs)
        self._held = self._held_object(obs)

    def _carried_bottom_offset(self, obs: np.ndarray) -> float:
        """Height of the carried thing's bottom relative to the pinch point."""
        if self._held is None:
            return -0.025  # the finger tips
        return float(
            self._pos(obs, self._held)[2] - self.layout.half_size(self._held) - self._grip(obs)[2]
        )

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g, p = self._grip(obs), self._pos(obs, self.obj)
        z = self._top(obs, self.obj) + 0.03 - self._carried_bottom_offset(obs)
        target = np.array([p[0], p[1], max(z, g[2])])
        if g[2] < z - 0.01:
            target[:2] = g[:2]  # rise before travelling
        return move_to(g, target, CLOSE if self._held else OPEN, self._gain)

    def _ref(self, obs: np.ndarray) -> np.ndarray:
        return self._pos(obs, self._held) if self._held else self._grip(obs)

    def done(self, obs: np.ndarray) -> bool:
        p, r = self._pos(obs, self.obj), self._ref(obs)
        bottom = self._grip(obs)[2] + self._carried_bottom_offset(obs)
        return bool(
            np.linalg.norm(r[:2] - p[:2]) < 0.006 and bottom > self._top(obs, self.obj) + 0.005
        )

    def spec(self) -> dict[str, Any]:
        held = self._held or "red"
        return {"stages": [{"all": [{"pred": "above", "args": [held, self.obj]}]}]}


@dataclass
class PlaceOn(Primitive):
    """Lower the held object until it rests on ``obj`` (still held; then ``release``)."""

    obj: str = "blue"
    name: ClassVar[str] = "place_on"
    _held: str | None = field(default=None, init=False)

    def start(self, obs: np.ndarray) -> None:
        super().start(obs)
        self._held = self._held_object(obs)

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g, p = self._grip(obs), self._pos(obs, self.obj)
        if self._held is None:
            return move_to(g, g, OPEN, self._gain)
        h = self._pos(obs, self._held)
        rest = p[2] + self.layout.half_size(self.obj) + self.layout.half_size(self._held)
        # Aim slightly below the resting height so the cube is pressed gently on its support;
        # correct the horizontal offset of the held cube, not of the hand.
        target = g + np.array([p[0] - h[0], p[1] - h[1], rest - 0.004 - h[2]])
        return move_to(g, target, CLOSE, self._gain)

    def done(self, obs: np.ndarray) -> bool:
        if self._held is None:
            return False
        p, h = self._pos(obs, self.obj), self._pos(obs, self._held)
        rest = p[2] + self.layout.half_size(self.obj) + self.layout.half_size(self._held)
        return bool(np.linalg.norm(h[:2] - p[:2]) < 0.01 and abs(h[2] - rest) < 0.004)

    def spec(self) -> dict[str, Any]:
        held = self._held or "red"
        return {"stages": [{"all": [{"pred": "on", "args": [held, self.obj]}]}]}


@dataclass
class Release(Primitive):
    """Open the gripper, then back off upwards so the fingers clear what was held."""

    timeout: int = 20
    name: ClassVar[str] = "release"
    _held: str | None = field(default=None, init=False)
    _z0: float = field(default=0.0, init=False)

    def start(self, obs: np.ndarray) -> None:
        super().start(obs)
        self._held = self._held_object(obs)
        self._z0 = float(self._grip(obs)[2])

    def _opened(self, obs: np.ndarray) -> bool:
        return bool(self.layout.gripper_opening(obs) > 0.9 * MAX_OPENING)

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g = self._grip(obs)
        # Rise only once open: lifting a half-open gripper would drag the cube along.
        z = self._z0 + 0.04 if self._opened(obs) else g[2]
        return move_to(g, np.array([g[0], g[1], z]), OPEN, self._gain)

    def done(self, obs: np.ndarray) -> bool:
        free = self._held is None or not (
            self.layout.contact_left(obs, self._held) > 0.5
            or self.layout.contact_right(obs, self._held) > 0.5
        )
        return free and self._opened(obs) and self._grip(obs)[2] > self._z0 + 0.02

    def spec(self) -> dict[str, Any]:
        held = self._held or "red"
        return {"stages": [{"all": [{"pred": "released", "args": [held]}]}]}


@dataclass
class Push(Primitive):
    """Push ``obj`` along a table direction (left/right/front/back) by ``distance``."""

    obj: str = "red"
    direction: str = "right"
    distance: float = 0.1
    timeout: int = 90
    name: ClassVar[str] = "push"
    _start: np.ndarray = field(default_factory=lambda: np.zeros(3), init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"unknown push direction {self.direction!r}; use one of {sorted(DIRECTIONS)}"
            )
        if not 0.0 < self.distance <= 0.3:
            raise ValueError(f"push distance must be in (0, 0.3] m, got {self.distance}")

    def start(self, obs: np.ndarray) -> None:
        super().start(obs)
        self._start = self._pos(obs, self.obj).copy()

    def _act(self, obs: np.ndarray) -> np.ndarray:
        g, p = self._grip(obs), self._pos(obs, self.obj)
        d = DIRECTIONS[self.direction]
        half = self.layout.half_size(self.obj)
        behind = p[:2] - d * (half + 0.02)
        low = p[2] - 0.005
        lateral = np.linalg.norm((g[:2] - behind) - d * np.dot(g[:2] - behind, d))
        along = np.dot(g[:2] - p[:2], d)
        low_enough = g[2] < low + 0.01
        if lateral < 0.012 and along <= -(half + 0.005) and low_enough:
            # In position behind the cube: sweep it to the goal.
            goal = self._start[:2] + d * (self.distance + 0.005)
            ahead = goal - d * (half + 0.02)
            target = np.array([ahead[0], ahead[1], low])
        elif np.linalg.norm(g[:2] - behind) < 0.01:
            target = np.array([behind[0], behind[1], low])  # straight down behind it
        elif g[2] < p[2] + half + CLEARANCE - 0.01:
            target = np.array([g[0], g[1], p[2] + half + CLEARANCE])  # rise first
        else:
            target = np.array([behind[0], behind[1], p[2] + half + CLEARANCE])
        return move_to(g, target, CLOSE, self._gain)

    def done(self, obs: np.ndarray) -> bool:
        moved = np.dot(self._pos(obs, self.obj)[:2] - self._start[:2], DIRECTIONS[self.direction])
        return bool(moved >= self.distance * 0.9)

    def spec(self) -> dict[str, Any]:
        return {
            "stages": [
                {"all": [{"pred": "in_region", "args": [self.obj], "region": self.direction}]}
            ]
        }


PRIMITIVES: dict[str, Callable[..., Primitive]] = {
    cls.name: cls for cls in (Reach, Grasp, Lift, MoveAbove, PlaceOn, Release, Push)
}
"""Registry: primitive name -> constructor ``(layout, **args)``."""


def make_primitive(layout: ObsLayout, name: str, **kwargs: Any) -> Primitive:
    """Build a registered primitive by name, with a clear error for unknown names/args."""
    if name not in PRIMITIVES:
        raise ValueError(f"unknown primitive {name!r}; known: {sorted(PRIMITIVES)}")
    for key in ("obj",):
        if key in kwargs and kwargs[key] not in layout.object_names:
            raise ValueError(
                f"primitive {name}: unknown object {kwargs[key]!r}; "
                f"this scene has {list(layout.object_names)}"
            )
    try:
        return PRIMITIVES[name](layout=layout, **kwargs)
    except TypeError as e:
        raise ValueError(f"primitive {name}: bad arguments {kwargs}: {e}") from None


def stack_chain(layout: ObsLayout, top: str = "red", bottom: str = "blue") -> list[Primitive]:
    """The primitive chain that stacks ``top`` on ``bottom``."""
    return [
        Reach(layout, obj=top),
        Grasp(layout, obj=top),
        Lift(layout, obj=top, height=0.08),
        MoveAbove(layout, obj=bottom),
        PlaceOn(layout, obj=bottom),
        Release(layout),
    ]
