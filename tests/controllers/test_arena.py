"""The arena's physics: resting, grasping, determinism, bad actions, scene configs."""

import numpy as np
import pytest

from controllers.arena import BlocksArena, check_action
from controllers.chain import Chain
from controllers.layout import SceneConfig
from controllers.primitives import Grasp, Lift, Reach


def test_dropped_cube_comes_to_rest_on_the_table():
    arena = BlocksArena()
    arena.reset(np.random.default_rng(0))
    # Keep the other cubes out of the way, then drop red from 15 cm.
    arena.physics.set_object_pose(arena.data, "green", np.array([-0.2, -0.2, 0.025]))
    arena.physics.set_object_pose(arena.data, "blue", np.array([-0.2, 0.2, 0.025]))
    arena.physics.set_object_pose(arena.data, "red", np.array([0.1, 0.1, 0.15]))
    for _ in range(30):  # 1.5 s
        obs = arena.step([0, 0, 0, -1])
    lay = arena.layout
    pos, vel = lay.obj_pos(obs, "red"), lay.obj_vel(obs, "red")
    assert pos[2] == pytest.approx(lay.table_z + 0.025, abs=0.002)
    assert np.abs(pos[:2] - [0.1, 0.1]).max() < 0.02
    assert np.linalg.norm(vel) < 1e-3


def test_grasped_cube_stays_in_the_gripper_while_lifted_and_carried():
    arena = BlocksArena()
    obs = arena.reset(np.random.default_rng(3))
    lay = arena.layout
    chain = Chain([Reach(lay, obj="red"), Grasp(lay, obj="red"), Lift(lay, obj="red", height=0.1)])
    for _ in range(120):
        if chain.finished:
            break
        obs = arena.step(chain.act(obs))
    assert chain.finished and chain.failed is None
    offset = lay.obj_pos(obs, "red") - lay.gripper_pos(obs)
    # Carry it around: it must move with the hand, not slip out.
    for action in ([1, 0, 0, 1], [0, 1, 0, 1], [-1, -1, 0.5, 1]):
        for _ in range(8):
            obs = arena.step(action)
    assert lay.obj_pos(obs, "red")[2] > lay.table_z + 0.1
    drift = np.linalg.norm(lay.obj_pos(obs, "red") - lay.gripper_pos(obs) - offset)
    assert drift < 0.01
    assert lay.contact_left(obs, "red") == 1 and lay.contact_right(obs, "red") == 1


def test_reset_places_objects_apart_and_at_rest():
    arena = BlocksArena()
    for seed in range(20):
        obs = arena.reset(np.random.default_rng(seed))
        pos = np.array([arena.layout.obj_pos(obs, n) for n in arena.layout.object_names])
        d = np.linalg.norm(pos[:, None, :2] - pos[None, :, :2], axis=-1)
        assert d[np.triu_indices(3, 1)].min() >= 0.09
        assert np.allclose(pos[:, 2], 0.025)


def test_same_seed_gives_the_same_trajectory():
    def run(seed):
        arena = BlocksArena()
        obs = [arena.reset(np.random.default_rng(seed))]
        actions = np.random.default_rng(99).uniform(-1, 1, size=(40, 4))
        obs += [arena.step(a) for a in actions]
        return np.stack(obs)

    a, b = run(5), run(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, run(6))


def test_nan_or_misshaped_action_raises_and_leaves_state_unchanged():
    arena = BlocksArena()
    arena.reset(np.random.default_rng(0))
    before = arena.observe().copy()
    qpos = arena.data.qpos.copy()
    with pytest.raises(ValueError, match="NaN"):
        arena.step([0.0, np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        arena.step([0.0, 0.0, 0.0])
    assert np.array_equal(arena.data.qpos, qpos)
    assert np.array_equal(arena.observe(), before)


def test_out_of_range_actions_are_clipped():
    assert np.array_equal(check_action([5, -7, 0.5, 2]), [1, -1, 0.5, 1])
    a, b = BlocksArena(), BlocksArena()
    a.reset(np.random.default_rng(0))
    b.reset(np.random.default_rng(0))
    assert np.array_equal(a.step([9, 0, -9, 3]), b.step([1, 0, -1, 1]))


def test_four_block_scene_is_one_argument_away():
    arena = BlocksArena(SceneConfig.blocks(4))
    obs = arena.reset(np.random.default_rng(0))
    assert arena.layout.object_names == ("red", "green", "blue", "yellow")
    assert obs.shape == (7 + 4 * 15,)
    assert arena.layout.obj_pos(obs, "yellow")[2] == pytest.approx(0.025, abs=1e-6)


def test_bad_scene_config_is_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="unique"):
        SceneConfig.blocks(2).__class__(objects=SceneConfig.blocks(2).objects * 2)
    with pytest.raises(ValueError, match="known colour"):
        from controllers.layout import ObjectConfig

        SceneConfig(objects=(ObjectConfig("teal"),))
