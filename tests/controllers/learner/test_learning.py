"""Small learning runs in CI: the learner really learns, and listens to the instruction."""

import numpy as np
import pytest
import torch

from controllers.learner import Learner, LearnerConfig, train_tasks

pytestmark = pytest.mark.slow


def fast_config(seed: int) -> LearnerConfig:
    return LearnerConfig(
        hidden=(128, 128),
        batch_size=128,
        episode_steps=40,
        num_envs=8,
        random_steps=1_000,
        seed=seed,
    )


@pytest.fixture(autouse=True)
def one_thread():
    # pytest-xdist runs two workers on two cores; one torch thread each avoids oversubscribing.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_reach_is_learned_to_80_percent_within_a_fixed_budget():
    learner = Learner(fast_config(seed=0))
    reach = learner.add_task("reach the red block")
    history = train_tasks(
        learner,
        [reach],
        env_steps=12_000,
        collect_every=640,
        updates_per_step=1.0,
        eval_every=1_920,
        eval_episodes=20,
        stop_at=0.8,
    )
    best = max(r[0].success_rate for _, r in history)
    assert best >= 0.8, [(s, r[0].success_rate) for s, r in history]


def test_the_action_depends_on_the_instruction():
    """Two opposite tasks learned together: the policy heads for the block it is told to."""
    learner = Learner(fast_config(seed=1))
    red = learner.add_task("reach the red block")
    blue = learner.add_task("reach the blue block")
    train_tasks(
        learner,
        [red, blue],
        env_steps=8_000,
        collect_every=640,
        updates_per_step=1.0,
        eval_every=100_000,
        eval_episodes=10,
    )
    from controllers.env import BlocksVecEnv

    venv = BlocksVecEnv(20, max_episode_steps=40)
    obs, _ = venv.reset(seed=123)
    lay = learner.layout
    for task, name in ((red, "red"), (blue, "blue")):
        action = learner.act(obs, np.full(20, task), deterministic=True)
        to_block = lay.obj_pos(obs, name)[:, :2] - lay.gripper_pos(obs)[:, :2]
        cos = (action[:, :2] * to_block).sum(1) / (
            np.linalg.norm(action[:, :2], axis=1) * np.linalg.norm(to_block, axis=1) + 1e-9
        )
        assert np.median(cos) > 0.7, f"{name}: cosines {np.round(cos, 2)}"
    a_red = learner.act(obs, np.full(20, red), deterministic=True)
    a_blue = learner.act(obs, np.full(20, blue), deterministic=True)
    assert np.abs(a_red[:, :2] - a_blue[:, :2]).mean() > 0.3
