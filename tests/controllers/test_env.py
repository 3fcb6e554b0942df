"""Gymnasium API of the arena: registration, env checker, seeding, batched copies."""

import subprocess
import sys

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from controllers.env import ENV_ID, BlocksEnv, BlocksVecEnv


def test_registered_id_makes_the_env_with_an_instruction():
    env = gymnasium.make(ENV_ID, task="lift the red block")
    obs, info = env.reset(seed=0)
    assert obs.shape == (52,) and obs.dtype == np.float32
    assert env.unwrapped.instruction == "lift the red block"
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert 0.0 <= reward <= 1.0 and info["success"] is False


def test_a_fresh_interpreter_makes_the_env_by_its_module_qualified_id():
    """Nothing of ours imported first: Gymnasium imports ``controllers.env``, which registers
    the id (Gymnasium 1.0 has no plugin entry points to do it on ``import gymnasium``)."""
    code = (
        "import sys, gymnasium\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('controllers', 'tasks')]\n"
        "env_id = 'controllers.env:experimenter/Blocks-v0'\n"
        "env = gymnasium.make(env_id, task='reach the red block')\n"
        "print(env.unwrapped.instruction)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "reach the red block"


def test_env_accepts_a_spec_dict():
    spec = {"stages": [{"all": [{"pred": "reach", "args": ["green"]}]}]}
    env = BlocksEnv(task=spec)
    assert env.instruction == "reach the green block"


@pytest.mark.filterwarnings("ignore:.*infinity.*")  # unbounded velocities are intended
def test_gymnasium_env_checker_passes():
    env = gymnasium.make(
        ENV_ID,
        task="reach the red block",
        render_mode="rgb_array",
        width=64,
        height=64,
    )
    check_env(env.unwrapped)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (64, 64, 3) and frame.std() > 5  # a real picture, not a blank
    env.close()


def test_same_seed_same_episode_through_the_env():
    def episode(seed):
        env = BlocksEnv(task="reach the red block")
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs]
        for _ in range(30):
            out.append(env.step(env.action_space.sample())[0])
        return np.stack(out)

    assert np.array_equal(episode(3), episode(3))


def test_invalid_task_raises_one_error_listing_every_problem():
    with pytest.raises(ValueError) as err:
        BlocksEnv(
            task={
                "stages": [
                    {
                        "all": [
                            {"pred": "flies", "args": ["red"]},
                            {"pred": "on", "args": ["red", "pink"]},
                        ]
                    }
                ]
            }
        )
    msg = str(err.value)
    assert "flies" in msg and "pink" in msg


def test_truncation_after_max_episode_steps():
    env = BlocksEnv(task="reach the red block", max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(np.zeros(4))[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_batched_copies_match_single_envs_and_auto_reset():
    n, steps = 4, 12
    venv = BlocksVecEnv(n, task="reach the red block", max_episode_steps=5)
    obs, _ = venv.reset(seed=10)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(steps, n, 4)).astype(np.float32)
    singles = [BlocksEnv(task="reach the red block", max_episode_steps=5) for _ in range(n)]
    for i, env in enumerate(singles):
        single_obs, _ = env.reset(seed=10 + i)
        assert np.array_equal(single_obs, obs[i])
    for t in range(5):
        obs, reward, _, trunc, info = venv.step(actions[t])
        for i, env in enumerate(singles):
            o, r, _, tr, _ = env.step(actions[t, i])
            if tr:  # the batched copy auto-reset; its last obs is in final_obs
                assert info["_final_obs"][i]
                assert np.array_equal(info["final_obs"][i], o)
            else:
                assert np.array_equal(obs[i], o)
            assert reward[i] == pytest.approx(r, abs=1e-6)
    assert trunc.all()  # step 5 ends every episode at once
    # After the auto-reset the copies keep going from fresh episodes.
    obs2, *_ = venv.step(actions[5])
    assert obs2.shape == (n, 52)


def test_batched_threads_give_the_same_results():
    def run(threads):
        venv = BlocksVecEnv(6, task="reach the red block", threads=threads)
        venv.reset(seed=0)
        acts = np.random.default_rng(1).uniform(-1, 1, size=(10, 6, 4))
        out = [venv.step(a)[0] for a in acts]
        venv.close()
        return np.stack(out)

    assert np.array_equal(run(1), run(2))


def test_batched_bad_actions_move_no_copy():
    venv = BlocksVecEnv(3)
    venv.reset(seed=0)
    qpos = [d.qpos.copy() for d in venv.datas]
    bad = np.zeros((3, 4))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        venv.step(bad)
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        venv.step(np.zeros((2, 4)))
    assert all(np.array_equal(d.qpos, q) for d, q in zip(venv.datas, qpos, strict=True))
