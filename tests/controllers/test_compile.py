"""Compiled tasks: the reward a policy sees along a stacking episode, and batch handling."""

from __future__ import annotations

import numpy as np
import pytest

from controllers.compile import compile_task
from controllers.layout import SceneConfig

H = 0.025
HELD = (1.0, 1.0)

# The design document's example: grasp red, hold it above blue, then stack it there,
# keeping green on the table throughout.
STACKING = {
    "stages": [
        {"all": [{"pred": "grasped", "args": ["red"]}]},
        {"all": [{"pred": "above", "args": ["red", "blue"], "margin": 0.02}]},
        {"all": [{"pred": "on", "args": ["red", "blue"]}, {"pred": "released", "args": ["red"]}]},
    ],
    "constraints": [{"pred": "on_table", "args": ["green"]}],
}


def stacking_episode(make_obs) -> dict[str, np.ndarray]:
    """States of a good stacking episode, in order (red starts at x=-0.1, blue at x=0.1)."""

    def held_at(x: float, z: float) -> np.ndarray:
        return make_obs(gripper=(x, 0.0, z), objects={"red": (x, 0.0, z)}, contacts={"red": HELD})

    return {
        "start": make_obs(gripper=(0.0, 0.0, 0.3)),
        "approach": make_obs(gripper=(-0.1, 0.0, 0.12)),
        "at red": make_obs(gripper=(-0.1, 0.0, H)),
        "grasp": held_at(-0.1, H),
        "lift": held_at(-0.1, H + 0.1),
        "carry": held_at(0.0, H + 0.1),
        "above blue": held_at(0.1, H + 0.1),
        "lower": held_at(0.1, 3 * H + 0.02),
        "place": held_at(0.1, 3 * H),
        "release": make_obs(gripper=(0.1, 0.0, 3 * H), objects={"red": (0.1, 0.0, 3 * H)}),
        "retreat": make_obs(gripper=(0.1, 0.0, 0.2), objects={"red": (0.1, 0.0, 3 * H)}),
    }


def test_reward_along_a_stacking_episode(layout, make_obs) -> None:
    task = compile_task(STACKING, layout)
    episode = stacking_episode(make_obs)
    batch = np.stack(list(episode.values()))
    reward, success = task.evaluate(batch)
    assert reward.dtype == np.float32
    assert np.all((reward >= 0) & (reward <= 1))
    assert np.all(np.diff(reward) >= 0), dict(zip(episode, reward.round(3).tolist(), strict=True))
    assert np.array_equal(reward == 1.0, success)
    assert [k for k, s in zip(episode, success, strict=True) if s] == ["release", "retreat"]
    # Stage bookkeeping: grasping finishes stage 1, hovering over blue stage 2.
    stages = dict(zip(episode, task.stage(batch).tolist(), strict=True))
    assert (stages["at red"], stages["grasp"], stages["above blue"], stages["release"]) == (
        0,
        1,
        2,
        3,
    )
    # Each finished stage is worth a third of the reward.
    assert 1 / 3 <= reward[3] < 2 / 3 <= reward[6] < 1


def test_reward_follows_the_last_stage_that_holds(layout, make_obs) -> None:
    task = compile_task(STACKING, layout)
    # Red already on blue and released: done, even though stage 1 (grasped) does not hold.
    done = make_obs(objects={"red": (0.1, 0.0, 3 * H)})
    assert task.success(done) and task.reward(done) == 1.0


def test_a_violated_constraint_scales_the_reward_down(layout, make_obs) -> None:
    task = compile_task(STACKING, layout)
    done = make_obs(objects={"red": (0.1, 0.0, 3 * H)})
    green_up = make_obs(objects={"red": (0.1, 0.0, 3 * H), "green": (0.0, 0.12, H + 0.1)})
    assert not task.success(green_up)
    assert 0 < task.reward(green_up) < task.reward(done)


def test_single_observation_gives_scalars(layout, make_obs) -> None:
    task = compile_task(STACKING, layout)
    obs = make_obs()
    assert task.reward(obs).shape == ()
    assert task.success(obs).shape == ()
    assert task.reward(obs) == task.reward(obs[None])[0]


def test_batch_matches_row_by_row(layout, make_obs) -> None:
    task = compile_task(STACKING, layout)
    rng = np.random.default_rng(1)
    batch = np.stack([make_obs() for _ in range(100)])
    batch += rng.normal(0, 0.1, batch.shape).astype(np.float32)
    reward, success = task.evaluate(batch)
    assert reward.shape == success.shape == (100,)
    assert np.all((reward >= 0) & (reward <= 1))
    assert np.allclose(reward, [task.reward(row) for row in batch])
    assert success.tolist() == [bool(task.success(row)) for row in batch]


def test_float64_observations_give_float64_rewards(layout, make_obs) -> None:
    task = compile_task(STACKING, layout)
    assert task.reward(make_obs().astype(np.float64)).dtype == np.float64


def test_wrong_observation_size_is_a_clear_error(layout) -> None:
    task = compile_task(STACKING, layout)
    with pytest.raises(ValueError, match=r"shape \(52,\)"):
        task.reward(np.zeros((4, 10), dtype=np.float32))


def test_one_stage_lift_task_has_a_dense_reward(layout, make_obs) -> None:
    task = compile_task({"stages": [{"all": [{"pred": "lifted", "args": ["red"]}]}]}, layout)
    far = task.reward(make_obs(gripper=(0.2, 0.2, 0.3)))
    near = task.reward(make_obs(gripper=(-0.1, 0.0, H)))
    held = task.reward(make_obs(gripper=(-0.1, 0.0, H), contacts={"red": HELD}))
    assert 0 < far < near < held < 1


def test_four_block_scene_with_yellow(make_obs) -> None:
    layout = SceneConfig.blocks(4).layout()
    spec = {
        "stages": [
            {"all": [{"pred": "grasped", "args": ["yellow"]}]},
            {"all": [{"pred": "on", "args": ["yellow", "red"]}]},
        ]
    }
    task = compile_task(spec, layout)
    apart = make_obs(layout=layout)
    stacked = make_obs(layout=layout, objects={"yellow": (-0.1, 0.0, 3 * H)})
    assert apart.shape == (layout.dim,) == (67,)
    assert not task.success(apart)
    assert task.success(stacked) and task.reward(stacked) == 1.0
    with pytest.raises(ValueError, match="yellow"):
        compile_task(spec, SceneConfig().layout())
