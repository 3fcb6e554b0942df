"""The block arena's physics: one MuJoCo model, one or many MjData, and the control law.

Action (4-D float, clipped to [-1, 1] — out-of-range values are clipped, not rejected):

| index | meaning | scale |
| --- | --- | --- |
| 0 | pinch point velocity along x (right) | x ``MAX_SPEED`` m/s |
| 1 | pinch point velocity along y (away from the front camera) | x ``MAX_SPEED`` m/s |
| 2 | pinch point velocity along z (up) | x ``MAX_SPEED`` m/s |
| 3 | gripper: -1 fully open ... +1 fully closed (a finger position target) | - |

A NaN/inf or wrongly shaped action raises ``ValueError`` before anything is touched, so
the state is unchanged. One control step holds the action for ``substeps`` physics steps
(default 25 x 2 ms = 20 Hz). The observation layout is documented in ``controllers.layout``.

Observations are read from ``qpos``/``qvel`` (exact at the end of the control step); the
finger-contact flags come from contact sensors, i.e. the contacts of the last physics
substep.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from controllers.layout import GRIPPER_DIM, OBJECT_DIM, SceneConfig
from controllers.scene import FINGER_TRAVEL, HAND_HOME, MAX_OPENING, TIMESTEP, scene_xml

MAX_SPEED = 0.4
"""Pinch point speed (m/s) at a full velocity action."""

ACTION_NAMES = ("vel_x", "vel_y", "vel_z", "gripper")
"""The action's entries, as the table above lists them (files for other programs name them)."""
ACTION_DIM = len(ACTION_NAMES)


@dataclass(frozen=True)
class _Index:
    """Addresses into qpos/qvel/geoms, computed once per model."""

    arm_qpos: np.ndarray  # (3,) x, y, z slides
    arm_qvel: np.ndarray  # (3,)
    finger_qpos: np.ndarray  # (2,) left, right
    obj_qpos: np.ndarray  # (K, 7) free joint position + quaternion
    obj_qvel: np.ndarray  # (K, 3) free joint linear velocity (world frame)
    touch: slice  # sensordata of the (object, left/right pad) contact sensors, K x 2


def _index(model: mujoco.MjModel, scene: SceneConfig) -> _Index:
    def jnt(name: str) -> mujoco._structs._MjModelJointViews:
        return model.joint(name)

    arm = [jnt(n) for n in ("arm_x", "arm_y", "arm_z")]
    fingers = [jnt(n) for n in ("finger_left", "finger_right")]
    objs = [jnt(f"{o.name}_joint") for o in scene.objects]
    first = model.sensor(f"touch_{scene.objects[0].name}_left")
    start = int(first.adr[0])
    if model.nsensordata != start + 2 * len(scene.objects):
        raise RuntimeError("contact sensors are expected last in the model, one float each")
    return _Index(
        arm_qpos=np.array([int(j.qposadr[0]) for j in arm]),
        arm_qvel=np.array([int(j.dofadr[0]) for j in arm]),
        finger_qpos=np.array([int(j.qposadr[0]) for j in fingers]),
        obj_qpos=np.array([np.arange(int(j.qposadr[0]), int(j.qposadr[0]) + 7) for j in objs]),
        obj_qvel=np.array([np.arange(int(j.dofadr[0]), int(j.dofadr[0]) + 3) for j in objs]),
        touch=slice(start, start + 2 * len(scene.objects)),
    )


def check_action(action: np.ndarray | list[float], batch: int | None = None) -> np.ndarray:
    """Validate and clip an action (or a batch of ``batch`` actions); raise on bad input."""
    a = np.asarray(action, dtype=np.float64)
    want = (ACTION_DIM,) if batch is None else (batch, ACTION_DIM)
    if a.shape != want:
        raise ValueError(f"action must have shape {want}, got {a.shape}")
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a)).tolist()
        raise ValueError(f"action contains NaN or inf at {bad}; actions must be finite in [-1, 1]")
    return np.clip(a, -1.0, 1.0)


def sample_layout(scene: SceneConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random non-overlapping object positions (K, 3) and yaw quaternions (K, 4)."""
    k = len(scene.objects)
    for _ in range(1000):
        xy = rng.uniform(-scene.spawn_half, scene.spawn_half, size=(k, 2))
        d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)
        if k == 1 or d[np.triu_indices(k, 1)].min() >= scene.min_spacing:
            break
    else:  # pragma: no cover - only for absurd configs
        raise ValueError(
            f"cannot place {k} objects {scene.min_spacing} m apart within "
            f"±{scene.spawn_half} m; enlarge spawn_half or use fewer objects"
        )
    # A cube looks the same every quarter turn, so yaw in [-45°, 45°] covers all poses.
    yaw = rng.uniform(-np.pi / 4, np.pi / 4, size=k)
    z = np.array([scene.table_z + o.size / 2 for o in scene.objects])
    pos = np.column_stack([xy, z])
    quat = np.column_stack([np.cos(yaw / 2), np.zeros(k), np.zeros(k), np.sin(yaw / 2)])
    return pos, quat


class Physics:
    """One MuJoCo model and the code that reads and drives any MjData of it.

    ``Physics`` is shared by all copies of a batched arena; each copy owns an ``MjData``.
    """

    def __init__(self, scene: SceneConfig | None = None, substeps: int = 25) -> None:
        if substeps < 1:
            raise ValueError(f"substeps must be >= 1, got {substeps}")
        self.scene = scene or SceneConfig()
        self.layout = self.scene.layout()
        self.model = mujoco.MjModel.from_xml_string(scene_xml(self.scene))
        self.substeps = substeps
        self.control_dt = substeps * TIMESTEP
        self._ix = _index(self.model, self.scene)
        self._home = np.asarray(HAND_HOME)

    def make_data(self) -> mujoco.MjData:
        return mujoco.MjData(self.model)

    def reset(self, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Gripper at home and open; objects at random non-overlapping poses at rest."""
        mujoco.mj_resetData(self.model, data)
        pos, quat = sample_layout(self.scene, rng)
        qp = data.qpos
        qp[self._ix.obj_qpos[:, :3]] = pos
        qp[self._ix.obj_qpos[:, 3:]] = quat
        data.ctrl[:] = 0.0
        mujoco.mj_forward(self.model, data)

    def apply(self, data: mujoco.MjData, action: np.ndarray) -> None:
        """Set actuator controls from a validated, clipped action."""
        ctrl = data.ctrl
        ctrl[0:3] = action[0:3] * MAX_SPEED
        target = (action[3] + 1.0) * (0.5 * FINGER_TRAVEL)
        ctrl[3] = target
        ctrl[4] = target

    def step(self, data: mujoco.MjData, action: np.ndarray) -> None:
        self.apply(data, action)
        mujoco.mj_step(self.model, data, nstep=self.substeps)

    def observe(self, data: mujoco.MjData, out: np.ndarray | None = None) -> np.ndarray:
        """Fill and return the observation vector (see ``controllers.layout``)."""
        ix = self._ix
        k = ix.obj_qpos.shape[0]
        obs = np.empty(GRIPPER_DIM + OBJECT_DIM * k, dtype=np.float32) if out is None else out
        qpos, qvel = data.qpos, data.qvel
        grip = self._home + qpos[ix.arm_qpos]
        obs[0:3] = grip
        obs[3:6] = qvel[ix.arm_qvel]
        obs[6] = MAX_OPENING - qpos[ix.finger_qpos].sum()
        per = obs[GRIPPER_DIM:].reshape(k, OBJECT_DIM)
        pq = qpos[ix.obj_qpos]
        per[:, 0:7] = pq
        per[:, 7:10] = qvel[ix.obj_qvel]
        per[:, 10:13] = pq[:, :3] - grip
        per[:, 13:15] = (data.sensordata[ix.touch] > 0).reshape(k, 2)
        return obs

    def set_object_pose(
        self, data: mujoco.MjData, name: str, pos: np.ndarray, quat: np.ndarray | None = None
    ) -> None:
        """Place an object (for tests and scripted scenes); velocities are zeroed."""
        k = self.layout.index(name)
        data.qpos[self._ix.obj_qpos[k, :3]] = pos
        if quat is not None:
            data.qpos[self._ix.obj_qpos[k, 3:]] = quat
        data.qvel[self._ix.obj_qvel[k]] = 0.0
        mujoco.mj_forward(self.model, data)


class BlocksArena:
    """A single arena: ``reset(rng)``, ``step(action)``, ``observe()``; no task, no reward."""

    def __init__(self, scene: SceneConfig | None = None, substeps: int = 25) -> None:
        self.physics = Physics(scene, substeps)
        self.data = self.physics.make_data()
        self.physics.reset(self.data, np.random.default_rng(0))

    @property
    def layout(self):
        return self.physics.layout

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        self.physics.reset(self.data, rng)
        return self.physics.observe(self.data)

    def step(self, action: np.ndarray | list[float]) -> np.ndarray:
        a = check_action(action)
        self.physics.step(self.data, a)
        return self.physics.observe(self.data)

    def observe(self) -> np.ndarray:
        return self.physics.observe(self.data)
