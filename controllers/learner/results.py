"""What the learner reports: the episodes a collection finished, and evaluations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode a ``collect`` call finished, measured against the task it was drawn
    under (what the ``episodes`` table and the executor report)."""

    task: int | None
    """The task id: the one the policy acted under, or a chain's episode is measured
    against; None when the learner knew no task (return 0, no success)."""
    steps: int
    total_return: float
    """The task's reward (``CompiledTask.reward``, not the training reward) summed over the
    episode."""
    success: bool
    """The task held at the episode's last step."""


@dataclass(frozen=True)
class Round:
    """One round of collection as arrays, one episode per arena copy: what a remote worker
    sends back (``Learner.play_round``) for the driver's learner to store (``store_round``)."""

    task_ids: np.ndarray
    """``(n,)``: the task each copy's episode is measured against."""
    obs: np.ndarray
    """``(horizon, n, dim)``."""
    action: np.ndarray
    """``(horizon, n, action_dim)``: the actions executed (after noise and clipping)."""
    next_obs: np.ndarray
    """``(horizon, n, dim)``: the stored next observations (the true final one last)."""

    @property
    def nbytes(self) -> int:
        return self.task_ids.nbytes + self.obs.nbytes + self.action.nbytes + self.next_obs.nbytes


@dataclass(frozen=True)
class CollectStats:
    """What one ``collect`` call did."""

    env_steps: int
    records: tuple[EpisodeRecord, ...]
    """Every episode it finished, round by round, arena copy by arena copy."""

    @property
    def episodes(self) -> int:
        return len(self.records)

    @property
    def success_rate(self) -> float:
        """Fraction of episodes whose task held at their last step."""
        return sum(r.success for r in self.records) / max(len(self.records), 1)


@dataclass
class EvalResult:
    task: int
    instruction: str
    episodes: int
    successes: int
    mean_return: float

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes
