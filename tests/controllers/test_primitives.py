"""Scripted primitives: each ends on its own success, and the chain stacks red on blue."""

import numpy as np
import pytest

from controllers.chain import Chain, run_chain
from controllers.compile import compile_task
from controllers.env import BlocksEnv
from controllers.primitives import PRIMITIVES, Push, make_primitive, stack_chain
from tasks import as_task

DESIGN_STACK = {
    "stages": [
        {"all": [{"pred": "grasped", "args": ["red"]}]},
        {"all": [{"pred": "above", "args": ["red", "blue"], "margin": 0.02}]},
        {"all": [{"pred": "on", "args": ["red", "blue"]}, {"pred": "released", "args": ["red"]}]},
    ]
}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_primitive_chain_stacks_red_on_blue(seed):
    env = BlocksEnv(task="stack the red block on the blue block")
    result = run_chain(env, Chain(stack_chain(env.layout)), seed=seed)
    assert result.failed is None
    assert result.success, f"seed {seed}: chain ended without a stack"


def test_reward_never_decreases_along_the_scripted_stacking_solution():
    env = BlocksEnv(task=DESIGN_STACK)
    for seed in range(3):
        r = run_chain(env, Chain(stack_chain(env.layout)), seed=seed)
        assert r.success
        assert r.rewards[0] < 0.2 and r.rewards[-1] == 1.0
        assert np.diff(r.rewards).min() >= -1e-3, np.round(r.rewards, 3)
        # Every stage boundary is crossed: the reward passes 1/3 and 2/3.
        assert (r.rewards > 1 / 3).any() and (r.rewards > 2 / 3).any()


def test_each_primitive_reaches_its_own_spec():
    """The primitives' stated specs hold after they run (reach, grasp, lift chain)."""
    env = BlocksEnv(task="reach the red block")
    obs, _ = env.reset(seed=7)
    chain = stack_chain(env.layout)[:3]  # reach, grasp, lift
    for prim in chain:
        prim.start(obs)
        while not prim.done(obs) and not prim.timed_out():
            obs = env.step(prim.act(obs))[0]
        assert prim.done(obs), prim.name
        assert compile_task(prim.spec(), env.layout).success(obs), prim.name


def test_closed_pads_pressed_on_a_block_touch_it_but_do_not_grasp_it():
    """The state a lift policy learned to reach instead of lifting: both pad sensors fire,
    yet nothing is held (the scripted grasp above does satisfy ``grasped``)."""
    env = BlocksEnv(task="grasp the red block")
    lay = env.layout
    grasped = compile_task(as_task("grasp the red block", lay), lay)
    obs, _ = env.reset(seed=0)
    for _ in range(60):
        # Pads' bottoms 1 cm into the top face, fingers commanded closed.
        target = lay.obj_pos(obs, "red") + np.array([0.0, 0.0, 0.04])
        v = np.clip((target - lay.gripper_pos(obs)) * 10, -1, 1)
        obs = env.step(np.array([*v, 1.0]))[0]
    assert lay.contact_left(obs, "red") > 0.5 and lay.contact_right(obs, "red") > 0.5
    assert not grasped.success(obs[None])[0]
    assert grasped.reward(obs[None])[0] < 0.5


def test_a_finished_chain_keeps_a_lifted_block_in_the_hand():
    """After its last primitive a chain holds still without relaxing the grasp."""
    env = BlocksEnv(task="lift the red block", max_episode_steps=100)
    obs, _ = env.reset(seed=3)
    chain = Chain(stack_chain(env.layout)[:3])  # reach, grasp, lift by 8 cm
    lifted = compile_task(as_task("lift the red block by 7 cm", env.layout), env.layout)
    for _ in range(100):
        obs = env.step(chain.act(obs))[0]
    assert chain.finished and chain.failed is None
    assert lifted.success(obs), "the block fell once the chain had finished"


@pytest.mark.parametrize("direction", ["left", "right", "front", "back"])
def test_push_moves_the_block_the_requested_way(direction):
    env = BlocksEnv(task="reach the red block")
    obs, _ = env.reset(seed=11)
    push = Push(env.layout, obj="green", direction=direction, distance=0.08)
    start = env.layout.obj_pos(obs, "green").copy()
    chain = Chain([push])
    for _ in range(120):
        if chain.finished:
            break
        obs = env.step(chain.act(obs))[0]
    assert chain.failed is None
    moved = env.layout.obj_pos(obs, "green")[:2] - start[:2]
    axis = {"left": -moved[0], "right": moved[0], "front": -moved[1], "back": moved[1]}
    assert axis[direction] >= 0.07


def test_a_primitive_that_cannot_finish_times_out_and_fails_the_chain():
    env = BlocksEnv(task="reach the red block")
    obs, _ = env.reset(seed=0)
    # Grasping blue from the home pose: the gripper is nowhere near it, so it never holds.
    chain = Chain([make_primitive(env.layout, "grasp", obj="blue", timeout=5)])
    for _ in range(10):
        obs = env.step(chain.act(obs))[0]
    assert chain.finished and chain.failed == "grasp"


def test_unknown_primitive_or_object_is_a_clear_error():
    env = BlocksEnv(task="reach the red block")
    with pytest.raises(ValueError, match="known"):
        make_primitive(env.layout, "teleport")
    with pytest.raises(ValueError, match="this scene has"):
        make_primitive(env.layout, "reach", obj="pink")
    with pytest.raises(ValueError, match="direction"):
        Push(env.layout, obj="red", direction="up")
    assert set(PRIMITIVES) == {
        "reach",
        "grasp",
        "lift",
        "move_above",
        "place_on",
        "release",
        "push",
    }
