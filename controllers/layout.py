"""The scene description and the observation layout, shared by the arena and the evaluators.

This module is pure (numpy and the standard library only): the predicates' evaluators
(``controllers.predicates``) and ``controllers.compile`` read observations through it without
importing MuJoCo, so that stored transitions can be relabelled without a physics engine. The
task language (``tasks``) names objects by ``SceneConfig.object_names``; the default scene
takes its names from ``tasks.scene.DEFAULT_OBJECTS``.

World frame (seen from the ``front`` camera, which looks along +y):

| direction | axis |
| --- | --- |
| right | +x |
| left | -x |
| behind (away from the camera) | +y |
| in front of (towards the camera) | -y |
| up | +z (the table top is at ``table_z``) |

Observation layout (a flat float32 vector; ``K`` objects, in scene order):

| slice | size | meaning | unit |
| --- | --- | --- | --- |
| ``0:3`` | 3 | gripper pinch point position (between the finger pads) | m |
| ``3:6`` | 3 | gripper pinch point linear velocity | m/s |
| ``6`` | 1 | gripper opening (distance between the finger pads) | m |
| ``7 + 15k + 0:3`` | 3 | object k position (centre) | m |
| ``7 + 15k + 3:7`` | 4 | object k orientation, unit quaternion (w, x, y, z) | - |
| ``7 + 15k + 7:10`` | 3 | object k linear velocity | m/s |
| ``7 + 15k + 10:13`` | 3 | object k position relative to the gripper (object - gripper) | m |
| ``7 + 15k + 13`` | 1 | 1.0 if the left finger pad touches object k, else 0.0 | - |
| ``7 + 15k + 14`` | 1 | 1.0 if the right finger pad touches object k, else 0.0 | - |

Total size: ``7 + 15 K`` (52 for the default three blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tasks.scene import DEFAULT_OBJECTS

GRIPPER_DIM = 7
OBJECT_DIM = 15

# Named colours for blocks; a scene of K blocks takes the first K unless told otherwise.
COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.15, 0.15, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.15, 0.3, 0.9, 1.0),
    "yellow": (0.95, 0.85, 0.1, 1.0),
    "purple": (0.6, 0.2, 0.75, 1.0),
    "orange": (0.95, 0.5, 0.1, 1.0),
}


@dataclass(frozen=True)
class ObjectConfig:
    """One cube in the scene."""

    name: str
    """Colour name; also the object's name in the task language."""
    size: float = 0.05
    """Edge length of the cube (m)."""
    rgba: tuple[float, float, float, float] | None = None
    """Colour; taken from ``COLOURS`` by name when ``None``."""
    mass: float = 0.1
    """Mass (kg)."""

    def colour(self) -> tuple[float, float, float, float]:
        if self.rgba is not None:
            return self.rgba
        if self.name not in COLOURS:
            raise ValueError(
                f"object {self.name!r} has no rgba and is not a known colour; "
                f"give rgba or use one of {sorted(COLOURS)}"
            )
        return COLOURS[self.name]


@dataclass(frozen=True)
class SceneConfig:
    """What is on the table. ``SceneConfig.blocks(4)`` is the four-block scene."""

    objects: tuple[ObjectConfig, ...] = tuple(ObjectConfig(name) for name in DEFAULT_OBJECTS)
    """The cubes, in observation order."""
    table_z: float = 0.0
    """Height of the table top (m)."""
    table_half: float = 0.4
    """Half the side of the square table top (m)."""
    spawn_half: float = 0.15
    """Objects are placed at reset with |x|, |y| <= spawn_half (m)."""
    min_spacing: float = 0.09
    """Minimum distance between object centres at reset (m); > a cube's diagonal."""

    def __post_init__(self) -> None:
        names = [o.name for o in self.objects]
        if not names:
            raise ValueError("a scene needs at least one object")
        if len(set(names)) != len(names):
            raise ValueError(f"object names must be unique, got {names}")
        for o in self.objects:
            o.colour()  # raises on an unknown colour without rgba
            if not 0.02 <= o.size <= 0.08:
                raise ValueError(
                    f"object {o.name!r} has size {o.size}; the gripper holds cubes of 0.02-0.08 m"
                )

    @classmethod
    def blocks(cls, n: int = 3, size: float = 0.05) -> SceneConfig:
        """The first ``n`` named colours as cubes of edge ``size``."""
        if not 1 <= n <= len(COLOURS):
            raise ValueError(f"n must be in 1..{len(COLOURS)}, got {n}")
        return cls(objects=tuple(ObjectConfig(c, size=size) for c in list(COLOURS)[:n]))

    @property
    def object_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objects)

    def layout(self) -> ObsLayout:
        return ObsLayout(scene=self)


@dataclass(frozen=True)
class ObsLayout:
    """Index arithmetic for the observation vector of a scene (see the module table)."""

    scene: SceneConfig = field(default_factory=SceneConfig)

    @property
    def dim(self) -> int:
        return GRIPPER_DIM + OBJECT_DIM * len(self.scene.objects)

    @property
    def object_names(self) -> tuple[str, ...]:
        return self.scene.object_names

    @property
    def table_z(self) -> float:
        return self.scene.table_z

    @cached_property
    def _indices(self) -> dict[str, int]:
        # Predicates look objects up by name dozens of times per reward call.
        return {name: i for i, name in enumerate(self.object_names)}

    @cached_property
    def _half_sizes(self) -> dict[str, float]:
        return {o.name: o.size / 2 for o in self.scene.objects}

    def index(self, name: str) -> int:
        """Position of object ``name`` in the scene; a clear error for an unknown name."""
        i = self._indices.get(name)
        if i is None:
            raise KeyError(f"unknown object {name!r}; this scene has {list(self.object_names)}")
        return i

    def half_size(self, name: str) -> float:
        self.index(name)  # the clear error for an unknown name
        return self._half_sizes[name]

    def contact_index(self, name: str) -> tuple[int, int]:
        """Indices of object ``name``'s (left, right) finger-contact flags in the vector."""
        b = self._base(name)
        return b + 13, b + 14

    def _base(self, name: str) -> int:
        return GRIPPER_DIM + OBJECT_DIM * self.index(name)

    # Views into a batch of observations, shape (N, dim). Slices return views, not copies.
    @staticmethod
    def gripper_pos(obs: np.ndarray) -> np.ndarray:
        return obs[..., 0:3]

    @staticmethod
    def gripper_vel(obs: np.ndarray) -> np.ndarray:
        return obs[..., 3:6]

    @staticmethod
    def gripper_opening(obs: np.ndarray) -> np.ndarray:
        return obs[..., 6]

    def obj_pos(self, obs: np.ndarray, name: str) -> np.ndarray:
        b = self._base(name)
        return obs[..., b : b + 3]

    def obj_quat(self, obs: np.ndarray, name: str) -> np.ndarray:
        b = self._base(name)
        return obs[..., b + 3 : b + 7]

    def obj_vel(self, obs: np.ndarray, name: str) -> np.ndarray:
        b = self._base(name)
        return obs[..., b + 7 : b + 10]

    def obj_rel(self, obs: np.ndarray, name: str) -> np.ndarray:
        b = self._base(name)
        return obs[..., b + 10 : b + 13]

    def contact_left(self, obs: np.ndarray, name: str) -> np.ndarray:
        return obs[..., self._base(name) + 13]

    def contact_right(self, obs: np.ndarray, name: str) -> np.ndarray:
        return obs[..., self._base(name) + 14]

    def between_pads(self, obs: np.ndarray, name: str) -> np.ndarray:
        """Whether object ``name`` is where a grasp holds it: between the finger pads, not
        under them. The fingers are at least half its width apart and the pinch point (the
        pads' centre) is not above its top. Pads pressed together on its top face touch it
        too and hold nothing; a policy learned exactly that to score "grasped"."""
        h = self.half_size(name)
        dz = self.gripper_pos(obs)[..., 2] - self.obj_pos(obs, name)[..., 2]
        return (self.gripper_opening(obs) >= 0.5 * h) & (dz <= h)

    def holding(self, obs: np.ndarray, name: str) -> np.ndarray:
        """Whether the gripper holds ``name``: both pads touch it (the contact flags are 0
        or 1) and it is between them."""
        touching = (self.contact_left(obs, name) > 0.5) & (self.contact_right(obs, name) > 0.5)
        return touching & self.between_pads(obs, name)


# The per-object fields of the table above, in vector order, with the names of their axes.
_OBJECT_FIELDS = (
    ("pos", ("x", "y", "z")),
    ("quat", ("w", "x", "y", "z")),
    ("vel", ("x", "y", "z")),
    ("rel", ("x", "y", "z")),
    ("touch", ("left", "right")),
)


def observation_names(layout: ObsLayout) -> list[str]:
    """A name for every entry of the observation vector, in order (the module's table):
    ``gripper_pos_x`` ... ``gripper_opening``, then ``red_pos_x`` ... ``red_touch_right``
    per object. What files written for other programs (an exported dataset or policy) name
    the entries by."""
    names = [f"gripper_pos_{a}" for a in "xyz"]
    names += [f"gripper_vel_{a}" for a in "xyz"]
    names.append("gripper_opening")
    for obj in layout.object_names:
        for part, axes in _OBJECT_FIELDS:
            names += [f"{obj}_{part}_{a}" for a in axes]
    assert len(names) == layout.dim, f"{len(names)} names for {layout.dim} entries"
    return names
