"""How skills are executed for data and measured: one small interface, in-process by default.

The graph hands an ``Executor`` collection jobs (a skill, how many env steps, and either
the parts of its decomposition or nothing for the policy alone), ``width`` of them at a
time, and evaluation requests; ``RayExecutor`` (``experimenter.ray_executor``: workers
stepping arenas in Ray actors) replaces ``InProcessExecutor`` without touching the graph.
Every collected episode goes into the learner's replay (written on the driver alone), and
comes back summarised, with the worker that collected it, for the ``episodes`` table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from controllers.learner import EvalResult, Learner
from controllers.skill_exec import PartSpec, build_run
from settings import ExecutorSettings


@dataclass(frozen=True)
class CollectJob:
    """Collect at least ``steps`` env steps (whole episodes) for one skill."""

    skill_id: int
    task_id: int
    """The skill's task in the learner."""
    steps: int
    parts: tuple[PartSpec, ...] | None = None
    """Execute these parts in order (a decomposition); None: the policy alone."""
    noise: float = 0.0
    """Gaussian noise on executed parts' actions."""
    label: str = "policy"
    """How the data was made: policy, chain (decomposition) or demo (scripted primitives)."""


@dataclass(frozen=True)
class EpisodeSummary:
    skill_id: int
    label: str
    steps: int
    total_return: float
    """The skill's reward summed over the episode."""
    success: bool
    """The skill's success at the episode's last step."""
    worker: str = "inprocess"
    """Who stepped the arena: ``inprocess``, or a Ray worker's ``node/actor`` ids."""


@dataclass(frozen=True)
class Rollout:
    """One rendered episode of the deterministic policy (for people to watch)."""

    gif: bytes
    steps: int
    total_return: float
    success: bool


class Executor(Protocol):
    @property
    def width(self) -> int:
        """Jobs it runs at once: the collect node hands it this many rounds per call."""
        ...

    def collect(
        self, learner: Learner, jobs: Sequence[CollectJob]
    ) -> list[list[EpisodeSummary]]: ...
    def evaluate(self, learner: Learner, task_id: int, episodes: int, seed: int) -> EvalResult: ...
    def rollout(self, learner: Learner, task_id: int, seed: int) -> Rollout: ...
    def close(self) -> None: ...


def chain_factory(
    parts: tuple[PartSpec, ...], learner: Learner, policy_timeout: int
) -> Callable[[], Any]:
    """Fresh chains executing ``parts`` in order, the policy parts acting (stochastically)
    through ``learner``: the driver's own, or a worker's copy of it."""

    def policy(obs: np.ndarray, task_id: int) -> np.ndarray:
        return learner.act(obs[None], np.array([task_id]), deterministic=False)[0]

    return lambda: build_run(parts, learner.layout, policy=policy, policy_timeout=policy_timeout)


@dataclass
class InProcessExecutor:
    """Runs jobs on the learner's own batched arena, in this process, one at a time."""

    policy_timeout: int = 100
    """Control steps a policy part may take before it is abandoned."""
    width: int = 1

    def collect(self, learner: Learner, jobs: Sequence[CollectJob]) -> list[list[EpisodeSummary]]:
        """Each job's episodes, in order; every episode is the job's skill's: the policy acts
        under its task, and a chain's episodes are measured against it."""
        out = []
        for job in jobs:
            task = {job.task_id: 1.0}
            if job.parts is None:
                stats = learner.collect(job.steps, task_weights=task)
            else:
                stats = learner.collect(
                    job.steps, chain=chain_factory(job.parts, learner, self.policy_timeout),
                    noise=job.noise, task_weights=task,
                )  # fmt: skip
            out.append(
                [
                    EpisodeSummary(job.skill_id, job.label, e.steps, e.total_return, e.success)
                    for e in stats.records
                ]
            )
        return out

    def close(self) -> None:
        pass

    def evaluate(self, learner: Learner, task_id: int, episodes: int, seed: int) -> EvalResult:
        """``episodes`` deterministic episodes from the starts of seeds ``seed``, ``seed + 1``..."""
        return learner.evaluate(task_id, episodes, seed=seed)

    def rollout(self, learner: Learner, task_id: int, seed: int, size: int = 160) -> Rollout:
        """The deterministic policy on one start, rendered from the front camera as a GIF."""
        import imageio.v3 as iio

        from controllers.env import BlocksEnv

        task = learner.tasks.tasks[task_id]
        env = BlocksEnv(
            task.spec, scene=learner.scene, max_episode_steps=learner.cfg.episode_steps,
            render_mode="rgb_array", width=size, height=size,
        )  # fmt: skip
        try:
            obs, info = env.reset(seed=seed)
            frames: list[np.ndarray] = []
            frames.append(_frame(env))
            total = 0.0
            for _ in range(learner.cfg.episode_steps):
                action = learner.act(obs[None], np.array([task_id]), deterministic=True)[0]
                obs, reward, _, _, info = env.step(action)
                total += reward
                frames.append(_frame(env))
        finally:
            env.close()
        fps = round(env.metadata["render_fps"])
        gif = iio.imwrite(
            "<bytes>", np.stack(frames), extension=".gif", duration=1000 / fps, loop=0
        )
        return Rollout(gif, learner.cfg.episode_steps, total, bool(info["success"]))


def _frame(env: Any) -> np.ndarray:
    frame = env.render()
    if frame is None:
        raise RuntimeError("the arena rendered nothing; was it made with render_mode='rgb_array'?")
    return np.asarray(frame)


def split_steps(total: int, shares: Sequence[float]) -> list[int]:
    """``total`` env steps split by ``shares`` (whole numbers, summing to ``total``)."""
    weights = np.asarray(shares, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return [0] * len(shares)
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argmax(raw - out)] += total - out.sum()
    return out.tolist()


def make_executor(settings: ExecutorSettings, *, policy_timeout: int) -> Executor:
    """The executor ``settings`` name (Ray is imported only when asked for)."""
    if settings.executor == "ray":
        from experimenter.ray_executor import RayExecutor

        return RayExecutor.from_settings(settings, policy_timeout=policy_timeout)
    return InProcessExecutor(policy_timeout=policy_timeout)
