"""Episodes read back from a learner's replay, to check what collection reports against
what it stored (the replay's layout: copy ``i``'s step ``t`` of a round is transition
``t * num_envs + i`` of that round)."""

from __future__ import annotations

import numpy as np

from controllers.learner import Learner


def replayed_episodes(learner: Learner, start: int, task: int) -> list[tuple[float, bool]]:
    """(return, success) of each episode stored since replay position ``start``, measured
    against ``task``."""
    n, horizon = learner.cfg.num_envs, learner.cfg.episode_steps
    compiled = learner.tasks.tasks[task].compiled
    out = []
    for r in range((learner.replay.added - start) // (n * horizon)):
        for i in range(n):
            idx = start + r * n * horizon + np.arange(horizon) * n + i
            reward, success = compiled.evaluate(learner.replay.next_obs[idx])
            out.append((float(np.sum(reward)), bool(success[-1])))
    return out
