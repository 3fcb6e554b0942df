"""Compilation of a task spec into vectorised ``success`` and ``reward`` functions.

The spec is validated by the task language (``tasks``); each of its atoms is then bound to
the layout through its predicate's evaluator (``controllers.predicates``). Both functions
read the observation alone, so any stored transition can be relabelled for any task.

- ``success(obs)``: the last stage holds and every constraint holds.
- ``reward(obs)`` in [0, 1]: ``(k + p) / n`` where ``n`` is the number of stages, ``k`` the
  number of stages up to and including the *last* stage whose conjunction holds (0 if none)
  and ``p`` the progress of stage ``k + 1`` (the mean of its atoms' progress); 1 when the
  last stage holds. The result is multiplied by the *product* of the constraints' progress,
  so a violated constraint scales the reward down smoothly (each factor is 1 while the
  constraint holds). Hence ``reward == 1`` exactly where ``success`` holds.

Outputs have the observation's floating dtype (float32 for the arena's observations; other
dtypes are computed in float64). A batch ``(N, dim)`` gives shape ``(N,)``; a single
observation ``(dim,)`` gives shape ``()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controllers.layout import ObsLayout
from controllers.predicates import EVALUATORS
from tasks.predicates import PREDICATES
from tasks.spec import Atom, TaskSpec
from tasks.validate import validate

AtomFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""An atom bound to a layout: ``obs (N, dim) -> (progress (N,), success (N,))``."""


def _bind(atom: Atom, layout: ObsLayout) -> AtomFn:
    evaluate = EVALUATORS[atom.pred]
    args = tuple(atom.args)
    params = PREDICATES[atom.pred].resolve(atom.params())

    def fn(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return evaluate(layout, obs, args, params)

    return fn


@dataclass(frozen=True)
class CompiledTask:
    """A spec bound to an observation layout. Build it with ``compile_task``."""

    spec: TaskSpec
    layout: ObsLayout
    stages: tuple[tuple[AtomFn, ...], ...] = field(repr=False)
    """Per stage, its atoms bound to the layout."""
    constraints: tuple[AtomFn, ...] = field(repr=False)
    """The constraints bound to the layout."""

    def success(self, obs: np.ndarray) -> np.ndarray:
        """``bool[N]`` (or ``bool[()]``): the last stage and every constraint hold."""
        return self.evaluate(obs)[1]

    def reward(self, obs: np.ndarray) -> np.ndarray:
        """``float[N]`` (or ``float[()]``) in [0, 1]; see the module docstring."""
        return self.evaluate(obs)[0]

    def stage(self, obs: np.ndarray) -> np.ndarray:
        """``int[N]`` (or ``int[()]``): stages done, i.e. the index of the current stage."""
        batch, single = self._batch(obs)
        done, _ = self._stage_results(batch)
        k = np.zeros(batch.shape[0], dtype=np.int64)
        for j, d in enumerate(done):
            k = np.where(d, j + 1, k)  # a later stage that holds overrides an earlier one
        return k[0] if single else k

    def evaluate(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(reward, success)`` in one pass (cheaper than calling both)."""
        batch, single = self._batch(obs)
        done, progress = self._stage_results(batch)
        n = len(self.stages)
        # Scan the stages in order: where stage j holds, the current stage becomes j + 1,
        # so the last stage that holds wins. A stage that holds has progress exactly 1.
        reward = progress[0] / n
        for j in range(n):
            after = (j + 1 + progress[j + 1]) / n if j + 1 < n else 1.0
            reward = np.where(done[j], after, reward)
        success = done[-1]
        for fn in self.constraints:
            c_progress, c_success = fn(batch)
            reward = reward * c_progress
            success = success & c_success
        reward = np.asarray(reward, dtype=batch.dtype)
        if single:
            return reward[0], success[0]
        return reward, success

    def _batch(self, obs: np.ndarray) -> tuple[np.ndarray, bool]:
        arr = np.asarray(obs)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        if arr.shape[-1:] != (self.layout.dim,) or arr.ndim not in (1, 2):
            raise ValueError(
                f"obs must have shape ({self.layout.dim},) or (N, {self.layout.dim}) for "
                f"objects {list(self.layout.object_names)}, got {arr.shape}"
            )
        return (arr[None], True) if arr.ndim == 1 else (arr, False)

    def _stage_results(self, batch: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(done, progress)``: per stage, whether its conjunction holds and its progress."""
        done, progress = [], []
        for atoms in self.stages:
            p_sum, s_all = atoms[0](batch)
            for fn in atoms[1:]:
                p, s = fn(batch)
                p_sum = p_sum + p
                s_all = s_all & s
            done.append(s_all)
            progress.append(p_sum / len(atoms))
        return done, progress


def compile_task(spec: TaskSpec | Mapping[str, Any] | str, layout: ObsLayout) -> CompiledTask:
    """Validate ``spec`` against ``layout``'s scene and bind every atom to the layout."""
    parsed = validate(spec, layout)
    return CompiledTask(
        spec=parsed,
        layout=layout,
        stages=tuple(tuple(_bind(a, layout) for a in s.all) for s in parsed.stages),
        constraints=tuple(_bind(a, layout) for a in parsed.constraints),
    )
