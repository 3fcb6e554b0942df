"""Hand-built observations for the tests of the predicates' evaluators and of compiled tasks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pytest

from controllers.layout import ObsLayout

# Where each block rests unless a test says otherwise: red left, blue right, green behind.
HOME_XY = {
    "red": (-0.1, 0.0),
    "green": (0.0, 0.12),
    "blue": (0.1, 0.0),
    "yellow": (0.0, -0.12),
}

MakeObs = Callable[..., np.ndarray]


def build_obs(
    layout: ObsLayout,
    *,
    gripper: Sequence[float] = (0.0, 0.0, 0.3),
    objects: Mapping[str, Sequence[float]] | None = None,
    contacts: Mapping[str, tuple[float, float]] | None = None,
    opening: float = 0.1,
) -> np.ndarray:
    """One float32 observation.

    ``objects`` maps a name to ``(x, y)`` (resting on the table) or ``(x, y, z)`` (centre);
    objects not named rest at ``HOME_XY``. ``contacts`` maps a name to its (left, right)
    contact flags; unnamed objects are untouched.
    """
    obs = np.zeros(layout.dim, dtype=np.float32)
    g = np.asarray(gripper, dtype=np.float32)
    layout.gripper_pos(obs)[:] = g
    obs[6] = opening
    for name in layout.object_names:
        xyz = (objects or {}).get(name, HOME_XY[name])
        if len(xyz) == 2:
            xyz = (*xyz, layout.table_z + layout.half_size(name))
        layout.obj_pos(obs, name)[:] = xyz
        layout.obj_quat(obs, name)[:] = (1.0, 0.0, 0.0, 0.0)
        layout.obj_rel(obs, name)[:] = np.asarray(xyz, dtype=np.float32) - g
    for name, (left, right) in (contacts or {}).items():
        i_left, i_right = layout.contact_index(name)
        obs[i_left] = left
        obs[i_right] = right
    return obs


@pytest.fixture
def make_obs(layout: ObsLayout) -> MakeObs:
    """``make_obs(**kwargs)``: ``build_obs`` on the default three-block layout, or on the
    layout passed as ``layout=``."""

    def make(layout: ObsLayout = layout, **kwargs: object) -> np.ndarray:
        return build_obs(layout, **kwargs)  # type: ignore[arg-type]

    return make
