"""The tasks a learner trains on, and relabelling of stored transitions for them.

A ``TaskSet`` holds compiled task specs with sampling weights. Relabelling computes, for
every sampled transition paired with a sampled task, the task's reward and success from
the stored *next* observation — so every episode teaches every task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from controllers.compile import CompiledTask, compile_task
from controllers.layout import ObsLayout
from tasks import TaskSpec, canonical_instruction


@dataclass(frozen=True)
class LearnerTask:
    """One task the learner knows: its spec, canonical instruction and compiled reward."""

    key: str
    """The spec hash (stable identity)."""
    spec: TaskSpec
    instruction: str
    compiled: CompiledTask


def object_indices(spec: TaskSpec, layout: ObsLayout, heads: int) -> np.ndarray:
    """``(heads,)`` int64: the scene indices of the first ``heads`` objects ``spec`` names
    (its atoms' arguments in order, stages first; each object once), -1 past the last."""
    named: list[str] = []
    for atom in spec.atoms():
        named += [a for a in atom.args if a not in named]
    out = np.full(heads, -1, dtype=np.int64)
    for h, name in enumerate(named[:heads]):
        out[h] = layout.index(name)
    return out


class TaskSet:
    """Known tasks (ever added; never forgotten, so checkpoints stay valid) and the weights
    of the active ones."""

    def __init__(self, layout: ObsLayout) -> None:
        self.layout = layout
        self.tasks: list[LearnerTask] = []
        self._index: dict[str, int] = {}
        self.weights = np.zeros(0)

    def add(self, spec: TaskSpec) -> int:
        """Register a task (read by ``Learner.add_task``); returns its id. Idempotent."""
        key = spec.spec_hash()
        if key in self._index:
            return self._index[key]
        compiled = compile_task(spec, self.layout)
        self.tasks.append(LearnerTask(key, spec, canonical_instruction(spec), compiled))
        self._index[key] = len(self.tasks) - 1
        self.weights = np.append(self.weights, 0.0)
        return self._index[key]

    def id_of(self, spec: TaskSpec) -> int:
        key = spec.spec_hash()
        if key not in self._index:
            raise KeyError(f"task {spec} is not known to this learner; add it first")
        return self._index[key]

    def set_weights(self, weights: Mapping[int, float]) -> None:
        """Activate tasks by id with relative weights; every other task gets weight 0."""
        w = np.zeros(len(self.tasks))
        for i, v in weights.items():
            if not 0 <= i < len(self.tasks):
                raise KeyError(f"unknown task id {i}; known ids 0..{len(self.tasks) - 1}")
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"task weights must be finite and >= 0, got {v} for task {i}")
            w[i] = v
        if w.sum() <= 0:
            raise ValueError("at least one task needs a positive weight")
        self.weights = w / w.sum()

    @property
    def active(self) -> np.ndarray:
        return np.flatnonzero(self.weights > 0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.weights.sum() <= 0:
            raise ValueError("no active tasks; call set_weights first")
        return rng.choice(len(self.tasks), size=n, p=self.weights)

    def relabel(self, next_obs: np.ndarray, task_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reward and success of ``task_ids[i]`` at ``next_obs[i]``."""
        reward = np.empty(len(task_ids), dtype=np.float32)
        success = np.empty(len(task_ids), dtype=bool)
        for t in np.unique(task_ids):
            rows = np.flatnonzero(task_ids == t)
            reward[rows], success[rows] = self.tasks[t].compiled.evaluate(next_obs[rows])
        return reward, success

    def state(self) -> dict[str, Any]:
        return {
            "specs": [t.spec.model_dump(mode="json", exclude_none=True) for t in self.tasks],
            "weights": self.weights.tolist(),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        for spec in state["specs"]:  # saved by ``state``: checked when they were added
            self.add(TaskSpec.model_validate(spec))
        self.weights = np.asarray(state["weights"], dtype=np.float64)


class Normalizer:
    """Running mean and variance of observations (Chan et al. parallel update)."""

    def __init__(self, dim: int, clip: float, std_floor: float) -> None:
        self.mean = np.zeros(dim)
        self.var = np.ones(dim)
        self.count = 1e-4
        self.clip = clip
        self.std_floor = std_floor

    def update(self, batch: np.ndarray) -> None:
        b_mean, b_var, n = batch.mean(0), batch.var(0), len(batch)
        delta, total = b_mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + b_var * n + delta**2 * self.count * n / total
        self.var = m2 / total
        self.count = total

    def std(self) -> np.ndarray:
        # Features that have not varied yet (a flag never seen set) are divided by the
        # floor, not by ~0.
        return np.maximum(np.sqrt(self.var), self.std_floor)

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": self.count}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.mean = np.asarray(state["mean"])
        self.var = np.asarray(state["var"])
        self.count = float(state["count"])
