"""Episode rows placed on a real learner's replay: whole rounds only, each checked against
the transitions it is placed on."""

from __future__ import annotations

import pytest

from controllers.learner import Learner
from experimenter.dataset.placement import DatasetError, place_episodes
from settings import LearnerConfig
from storage.episodes import CollectedEpisode

N, H = 2, 5
CONFIG = LearnerConfig(
    hidden=(16, 16), batch_size=8, episode_steps=H, num_envs=N, random_steps=100,
    buffer_capacity=25, buffer_chunk=10,
)  # fmt: skip
"""Rounds of 10 steps in a replay of 25: after three rounds the first is overwritten."""


def rows_of(learner: Learner, rounds: int) -> list[CollectedEpisode]:
    """What the collect node records for ``rounds`` rounds of ``learner.collect``."""
    out = []
    for r in range(rounds):
        start = learner.env_steps
        for e in learner.collect(N * H).records:
            out.append(CollectedEpisode(len(out) + 1, start, 1, "policy", e.steps,
                                        e.total_return, e.success))  # fmt: skip
        assert learner.env_steps == start + N * H, r
    return out


def test_whole_rounds_are_placed_and_the_rest_counted() -> None:
    learner = Learner(CONFIG)
    learner.set_weights({learner.add_task("reach the red block"): 1.0})
    rows = rows_of(learner, 3)
    reach = learner.tasks.tasks[0].compiled
    # A round recorded but not saved with the replay, and a row of an older version.
    later = [r._replace(id=r.id + 6, env_step=30) for r in rows[:N]]
    old = [rows[0]._replace(id=99, env_step=None)]
    placed = place_episodes(old + rows + later, learner.replay, num_envs=N, episode_steps=H)
    assert (placed.overwritten, placed.not_saved, placed.unplaced) == (N, N, 1)
    assert [e.row.id for e in placed.episodes] == [r.id for r in rows[N:]]
    for e in placed.episodes:
        reward, success = reach.evaluate(learner.replay.next_obs[e.positions])
        assert reward.sum() == pytest.approx(e.row.total_return, abs=1e-5)
        assert bool(success[-1]) == e.row.success and e.source == "random"
    short = place_episodes(rows[N + 1 :], learner.replay, num_envs=N, episode_steps=H)
    assert short.unplaced == N - 1 and len(short.episodes) == N


def test_a_row_placed_on_another_rounds_transitions_is_refused() -> None:
    learner = Learner(CONFIG)
    learner.set_weights({learner.add_task("reach the red block"): 1.0})
    rows = rows_of(learner, 2)
    shifted = [r._replace(env_step=r.env_step + H) for r in rows[:N]]  # half a round off
    with pytest.raises(DatasetError, match="does not match the replay's transitions"):
        place_episodes(shifted, learner.replay, num_envs=N, episode_steps=H)
    chain = [r._replace(label="chain") for r in rows]
    with pytest.raises(DatasetError, match="collected as chain but the replay stores"):
        place_episodes(chain, learner.replay, num_envs=N, episode_steps=H)
