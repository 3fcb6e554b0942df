"""Gymnasium environments of the block arena: ``BlocksEnv`` and the batched ``BlocksVecEnv``.

Both assemble the same three parts: the physics (``controllers.arena``), the scene
(``controllers.layout``) and a task (a ``tasks`` spec, compiled by ``controllers.compile``).
The reward is the task's compiled dense reward in [0, 1] and ``info["success"]`` its
success; an episode is truncated after ``max_episode_steps`` control steps and, when
``terminate_on_success``, terminated on success. Observation and action layouts:
``controllers.layout`` and ``controllers.arena``.

Importing this module registers ``BlocksEnv`` as ``ENV_ID`` (``experimenter/Blocks-v0``);
Gymnasium imports it itself when the id names the module::

    env = gymnasium.make("controllers.env:experimenter/Blocks-v0", task="lift the red block")
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from controllers.arena import ACTION_DIM, Physics, check_action
from controllers.compile import compile_task
from controllers.layout import SceneConfig
from tasks import TaskSpec, as_task, canonical_instruction

DEFAULT_TASK = "stack the red block on the blue block"

ENV_ID = "experimenter/Blocks-v0"
"""The Gymnasium id of ``BlocksEnv``, registered below."""


def _spaces(dim: int) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    obs = gym.spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float32)
    act = gym.spaces.Box(-1.0, 1.0, shape=(ACTION_DIM,), dtype=np.float32)
    return obs, act


def _check_steps(max_episode_steps: int) -> None:
    if max_episode_steps < 1:
        raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")


class BlocksEnv(gym.Env[np.ndarray, np.ndarray]):
    """One arena copy with a task.

    Args:
        task: a ``TaskSpec``, its dict/JSON form, or an instruction such as
            ``"put the red block on the blue block"``.
        scene: objects on the table (default: red, green, blue 5 cm cubes).
        max_episode_steps: control steps before truncation.
        terminate_on_success: end the episode when the task succeeds.
        render_mode: ``"rgb_array"`` or ``None``.
        camera, width, height: what ``render()`` shows.
        substeps: physics steps per control step (25 x 2 ms = 20 Hz).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}  # noqa: RUF012 - Gymnasium's API

    def __init__(
        self,
        task: TaskSpec | dict[str, Any] | str = DEFAULT_TASK,
        scene: SceneConfig | None = None,
        max_episode_steps: int = 200,
        terminate_on_success: bool = False,
        render_mode: str | None = None,
        camera: str = "front",
        width: int = 256,
        height: int = 256,
        substeps: int = 25,
    ) -> None:
        _check_steps(max_episode_steps)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.physics = Physics(scene, substeps)
        self.layout = self.physics.layout
        self.spec_task = as_task(task, self.layout)
        self.instruction = canonical_instruction(self.spec_task)
        self._task = compile_task(self.spec_task, self.layout)
        self.max_episode_steps = max_episode_steps
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self._camera_args = (camera, width, height)
        self._camera: Any = None
        self.metadata = {**self.metadata, "render_fps": round(1 / self.physics.control_dt)}
        self.observation_space, self.action_space = _spaces(self.layout.dim)
        self.data = self.physics.make_data()
        self._steps = 0
        self._obs = self.physics.observe(self.data)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.physics.reset(self.data, self.np_random)
        self._steps = 0
        self._obs = self.physics.observe(self.data)
        return self._obs.copy(), {"success": bool(self._task.success(self._obs))}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = check_action(action)  # raises before the state is touched
        self.physics.step(self.data, a)
        self._steps += 1
        obs = self._obs = self.physics.observe(self.data)
        r, s = self._task.evaluate(obs)
        success, reward = bool(s), float(r)
        terminated = success and self.terminate_on_success
        truncated = self._steps >= self.max_episode_steps
        return obs.copy(), reward, terminated, truncated, {"success": success}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._camera is None:
            from controllers.render import Camera  # GL context only when rendering

            self._camera = Camera(self.physics.model, *self._camera_args)
        return self._camera.render(self.data)

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


class BlocksVecEnv(VectorEnv):
    """``num_envs`` arena copies stepped with one call: arrays in, arrays out.

    Auto-reset happens in the same step (``AutoresetMode.SAME_STEP``): a copy whose episode
    ended returns its first observation of the next episode, and the last observation of
    the ended one is in ``info["final_obs"]`` (rows where ``info["_final_obs"]`` is True).
    Physics of the copies runs on ``threads`` worker threads (MuJoCo releases the GIL while
    stepping; default: one per core, at most one per copy). The task is optional: with
    ``task=None`` rewards are zero and ``success`` is False, for collecting task-agnostic
    data that is relabelled later.
    """

    metadata = {  # noqa: RUF012 - Gymnasium's API
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [],
    }

    def __init__(
        self,
        num_envs: int,
        task: TaskSpec | dict[str, Any] | str | None = None,
        scene: SceneConfig | None = None,
        max_episode_steps: int = 200,
        terminate_on_success: bool = False,
        substeps: int = 25,
        threads: int | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        # Results do not depend on the thread count (each copy is stepped by one thread).
        threads = min(os.cpu_count() or 1, num_envs) if threads is None else threads
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        _check_steps(max_episode_steps)
        self.physics = Physics(scene, substeps)
        self.layout = self.physics.layout
        self.num_envs = num_envs
        self.spec_task = None if task is None else as_task(task, self.layout)
        self._task = None if self.spec_task is None else compile_task(self.spec_task, self.layout)
        self.max_episode_steps = max_episode_steps
        self.terminate_on_success = terminate_on_success
        self.single_observation_space, self.single_action_space = _spaces(self.layout.dim)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, num_envs
        )
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.datas = [self.physics.make_data() for _ in range(num_envs)]
        self._obs = np.zeros((num_envs, self.layout.dim), dtype=np.float32)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._rngs = [np.random.default_rng(i) for i in range(num_envs)]
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self._chunks = np.array_split(np.arange(num_envs), threads)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every copy; ``seed=s`` seeds copy i with ``s + i`` (or a list, one each)."""
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
            if len(seeds) != self.num_envs:
                raise ValueError(f"need {self.num_envs} seeds, got {len(seeds)}")
            self._rngs = [np.random.default_rng(s) for s in seeds]
        for i, d in enumerate(self.datas):
            self.physics.reset(d, self._rngs[i])
            self.physics.observe(d, out=self._obs[i])
        self._steps[:] = 0
        return self._obs.copy(), {"success": self._success(self._obs)}

    def _success(self, obs: np.ndarray) -> np.ndarray:
        if self._task is None:
            return np.zeros(len(obs), dtype=bool)
        return np.asarray(self._task.success(obs), dtype=bool)

    def _step_chunk(self, idx: np.ndarray, actions: np.ndarray) -> None:
        for i in idx:
            self.physics.step(self.datas[i], actions[i])
            self.physics.observe(self.datas[i], out=self._obs[i])

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        a = check_action(actions, batch=self.num_envs)  # raises before any copy moves
        if self._pool is None:
            self._step_chunk(self._chunks[0], a)
        else:
            list(self._pool.map(lambda c: self._step_chunk(c, a), self._chunks))
        self._steps += 1
        obs = self._obs
        if self._task is None:
            reward = np.zeros(self.num_envs, dtype=np.float32)
            success = np.zeros(self.num_envs, dtype=bool)
        else:
            r, s = self._task.evaluate(obs)
            reward, success = np.asarray(r, dtype=np.float32), np.asarray(s, dtype=bool)
        terminated = success & self.terminate_on_success
        truncated = self._steps >= self.max_episode_steps
        done = terminated | truncated
        info: dict[str, Any] = {"success": success}
        if done.any():
            info["final_obs"] = obs.copy()
            info["_final_obs"] = done.copy()
            for i in np.flatnonzero(done):
                self.physics.reset(self.datas[i], self._rngs[i])
                self.physics.observe(self.datas[i], out=obs[i])
                self._steps[i] = 0
        return obs.copy(), reward, terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


# Guarded: a module may be imported again (importlib.reload, tests), registering twice warns.
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="controllers.env:BlocksEnv")
