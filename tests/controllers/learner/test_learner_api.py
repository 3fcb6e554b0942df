"""The learner's contracts: relabelling, save/load continuity, bad input, replay memory."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from replay_reading import replayed_episodes

from controllers.chain import Chain
from controllers.compile import compile_task
from controllers.learner import Learner, LearnerConfig, ReplayBuffer, Source
from controllers.learner.tasks import object_indices
from controllers.learner.text import features, tokenize
from controllers.primitives import stack_chain
from tasks import TaskSpecError, as_task


def small_learner(**kw) -> Learner:
    cfg = dict(
        hidden=(32, 32),
        batch_size=16,
        episode_steps=10,
        num_envs=2,
        random_steps=20,
        buffer_capacity=5_000,
        buffer_chunk=64,
        relabel_chunk=4,
    )
    cfg.update(kw)
    return Learner(LearnerConfig(**cfg))


def test_relabelled_reward_equals_the_spec_reward_on_the_same_observations():
    learner = small_learner()
    reach = learner.add_task("reach the red block")
    stack = learner.add_task("stack the red block on the blue block")
    learner.set_weights({reach: 1.0, stack: 1.0})
    learner.collect(40)
    batch, tokens, _ = learner._sample(200)
    assert tokens.shape[0] == 2  # both tasks present in a 200-sample batch
    present = sorted(set(learner.tasks.sample(1000, np.random.default_rng(0)).tolist()))
    next_obs = batch.next_obs.numpy()
    rows = batch.task.numpy()
    for row, task_id in enumerate(present):
        spec = learner.tasks.tasks[task_id].spec
        expected = compile_task(spec, learner.layout).reward(next_obs[rows == row])
        np.testing.assert_allclose(batch.reward.numpy()[rows == row], expected, rtol=1e-6)


def test_success_weight_pays_that_share_of_the_reward_for_success_alone():
    learner = small_learner(success_weight=0.5, episode_steps=60)
    stack = learner.add_task("stack the red block on the blue block")
    learner.set_weights({stack: 1.0})
    learner.collect(120, chain=lambda: Chain(stack_chain(learner.layout)), noise=0.05)
    batch, _, _ = learner._sample(400)
    compiled = compile_task(as_task("stack the red block on the blue block", learner.layout),
                            learner.layout)  # fmt: skip
    progress, success = compiled.evaluate(batch.next_obs.numpy())
    assert success.any() and not success.all()  # both kinds of rows are in the batch
    np.testing.assert_allclose(batch.reward.numpy(), 0.5 * progress + 0.5 * success, rtol=1e-6)
    # A near miss earns half what the shaped reward alone pays it.
    miss = ~success & (progress > 0.5)
    assert miss.any() and (batch.reward.numpy()[miss] < 0.5).all()


def test_n_step_targets_sum_the_relabelled_rewards_along_each_episode():
    learner = small_learner(n_step=3, gamma=0.9)
    reach = learner.add_task("reach the red block")
    learner.set_weights({reach: 1.0})
    learner.collect(20)  # one round: 2 arenas x 10 steps, stored step by step
    n, horizon = 2, 10
    batch, _, _ = learner._sample(64)
    compiled = learner.tasks.tasks[reach].compiled
    stored_obs, stored_next = learner.replay.obs[:20], learner.replay.next_obs[:20]
    for row in range(64):
        idx = int(np.flatnonzero((stored_obs == batch.obs[row].numpy()).all(1))[0])
        t, arena = divmod(idx, n)
        steps = min(3, horizon - t)  # the episode's last step ends the sum (a time limit)
        later = [(t + j) * n + arena for j in range(steps)]
        expected = sum(0.9**j * float(compiled.reward(stored_next[k])) for j, k in enumerate(later))
        assert batch.reward[row].item() == pytest.approx(expected, rel=1e-5)
        assert batch.discount[row].item() == pytest.approx(0.9**steps)
        np.testing.assert_array_equal(batch.next_obs[row].numpy(), stored_next[later[-1]])


@pytest.mark.parametrize(
    "options",
    [
        {"conditioning": "concat"},
        {"conditioning": "film"},
        {"conditioning": "objects"},
        {"conditioning": "objects", "precision": "bfloat16", "n_step": 3},
    ],
    ids=["concat", "film", "objects", "objects-bf16-3step"],
)
def test_save_load_gives_identical_actions_and_identical_next_update(tmp_path, options):
    a = small_learner(**options)
    t = a.add_task("lift the red block")
    a.set_weights({t: 1.0})
    a.collect(40)
    a.update(5)
    a.save(tmp_path / "ckpt")
    b = Learner.load(tmp_path / "ckpt")
    obs = a.replay.obs[:8]
    ids = np.zeros(8, dtype=np.int64)
    np.testing.assert_array_equal(a.act(obs, ids, True), b.act(obs, ids, True))
    # The same run continues: collection, updates and sampling noise all match.
    for learner in (a, b):
        learner.collect(20)
        learner.update(3)
    assert len(a.replay) == len(b.replay)
    np.testing.assert_array_equal(a.replay.obs[: len(a.replay)], b.replay.obs[: len(b.replay)])
    for pa, pb in zip(a.agent.parameters(), b.agent.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    np.testing.assert_array_equal(a.act(obs, ids, False), b.act(obs, ids, False))


def test_load_policy_acts_as_the_checkpoint_without_its_replay(tmp_path):
    a = small_learner(conditioning="film")
    a.add_task("reach the red block")
    t = a.add_task("lift the red block")
    a.set_weights({t: 1.0})
    a.collect(40)
    a.update(5)
    a.save(tmp_path / "ckpt")
    copy = Learner.load_policy(tmp_path / "ckpt")
    assert copy.replay.capacity == a.cfg.batch_size and len(copy.replay) == 0
    assert (copy.env_steps, copy.updates) == (a.env_steps, a.updates)
    assert [x.key for x in copy.tasks.tasks] == [x.key for x in a.tasks.tasks]
    obs = a.replay.obs[:8]
    ids = np.array([0, 1] * 4)
    np.testing.assert_array_equal(a.act(obs, ids, True), copy.act(obs, ids, True))
    with pytest.raises(FileNotFoundError, match="no learner checkpoint"):
        Learner.load_policy(tmp_path / "nothing")


def test_a_checkpoint_from_before_the_std_floor_setting_keeps_its_scaling(tmp_path):
    # Checkpoints saved before obs_std_floor existed were trained with a floor of 1e-3;
    # loading them under today's default would rescale inputs under trained networks.
    learner = small_learner(obs_std_floor=1e-3)
    learner.set_weights({learner.add_task("lift the red block"): 1.0})
    learner.collect(40)
    learner.update(4)
    learner.save(tmp_path / "ckpt")
    path = tmp_path / "ckpt" / "learner.pt"
    state = torch.load(path, weights_only=False)
    del state["config"]["obs_std_floor"]
    torch.save(state, path)
    old = Learner.load(tmp_path / "ckpt")
    assert old.cfg.obs_std_floor == 1e-3
    obs = learner.replay.obs[:8].copy()
    obs[:, learner.layout.obj_pos(np.arange(learner.layout.dim), "red")[2]] += 0.1
    ids = np.zeros(8, dtype=np.int64)
    np.testing.assert_array_equal(old.act(obs, ids, True), learner.act(obs, ids, True))


def test_a_checkpoint_from_before_the_sparse_feature_table_loads_its_optimiser_state():
    # Checkpoints used to hold one Adam over (critics, encoder with its feature table,
    # actor, temperature); the table now has a SparseAdam of its own.
    learner = small_learner()
    t = learner.add_task("lift the red block")
    learner.set_weights({t: 1.0})
    learner.collect(40)
    agent = learner.agent
    table = agent.encoder.bag.weight
    groups = [
        [*agent.critic.parameters(), *agent.encoder.parameters()],
        list(agent.actor.parameters()),
        [agent.log_alpha],
    ]
    legacy = torch.optim.Adam([{"params": g} for g in groups], lr=1e-3, fused=True)
    for g in groups:
        for p in g:
            p.grad = torch.randn_like(p)
    legacy.step()
    legacy.step()
    agent.load_optimizer_state(legacy.state_dict())
    moved = agent.table_optimizer.state[table]
    assert moved["step"] == 2
    torch.testing.assert_close(moved["exp_avg_sq"], legacy.state[table]["exp_avg_sq"])
    for p in (q for g in groups for q in g if q is not table):
        torch.testing.assert_close(agent.optimizer.state[p]["exp_avg"], legacy.state[p]["exp_avg"])
    before = table.detach().clone()
    learner.update(2)  # training goes on, the table included
    assert not torch.equal(before, table.detach())


def test_bad_task_and_nan_observation_fail_with_clear_messages():
    learner = small_learner()
    with pytest.raises(TaskSpecError) as err:
        learner.add_task({"stages": [{"all": [{"pred": "levitate", "args": ["red"]}]}]})
    assert "levitate" in str(err.value) and "reach" in str(err.value)  # lists allowed ones
    t = learner.add_task("reach the red block")
    obs = np.zeros((1, learner.layout.dim), dtype=np.float32)
    obs[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        learner.act(obs, np.array([t]), True)
    with pytest.raises(ValueError, match="shape"):
        learner.act(np.zeros((1, 5)), np.array([t]), True)
    with pytest.raises(ValueError, match="empty"):
        learner.update(1)
    with pytest.raises(ValueError, match="no active tasks"):
        learner.collect(10)
    with pytest.raises(ValueError, match="gamma"):
        LearnerConfig(gamma=1.5)
    with pytest.raises(ValueError, match=r"n_step must be >= 1.*precision must be 'float32'"):
        LearnerConfig(n_step=0, precision="fp8")  # every problem is listed
    with pytest.raises(ValueError, match="'concat', 'film' or 'objects'"):
        LearnerConfig(conditioning="attention")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="obs_std_floor must be > 0, got 0"):
        LearnerConfig(obs_std_floor=0)


def test_a_feature_that_has_not_moved_is_scaled_by_the_floor_not_blown_up():
    """A block resting on the table has a height that varies by micrometres; lifted 10 cm
    it must still read as a few standard deviations, not as the clip."""
    learner = small_learner()
    learner.set_weights({learner.add_task("lift the red block"): 1.0})
    learner.collect(40)  # random actions: the blocks stay on the table
    z = int(learner.layout.obj_pos(np.arange(learner.layout.dim), "red")[2])  # red's height
    assert learner.normalizer.std()[z] == pytest.approx(LearnerConfig().obs_std_floor)
    obs = learner.replay.obs[:1].copy()
    obs[0, z] += 0.10
    learner.sync_normalizer()
    seen = learner.agent.normalize(torch.as_tensor(obs))[0, z].item()
    assert 2.0 < seen < 5.0  # 0.10 / 0.03 plus the rest's offset, well inside the clip
    # The floor this learner used to have: the lifted block reads as the clip.
    learner.normalizer.std_floor = 1e-3
    learner.sync_normalizer()
    assert learner.agent.normalize(torch.as_tensor(obs))[0, z].item() == pytest.approx(10.0)


def test_a_device_that_is_not_there_is_refused_before_anything_is_built(tmp_path):
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda', 'cuda:N'.*'tpu'"):
        LearnerConfig(device="tpu")
    if torch.cuda.is_available():
        gpus = torch.cuda.device_count()
        with pytest.raises(ValueError, match=f"asks for GPU {gpus}, but this machine has {gpus}"):
            Learner(LearnerConfig(device=f"cuda:{gpus}"))
    else:
        with pytest.raises(ValueError, match=r"sees no CUDA GPU.*use device 'cpu'"):
            Learner(LearnerConfig(device="cuda"))
        # A CPU checkpoint asked onto a GPU that is not there fails the same way, and the
        # checkpoint is left as it was.
        learner = small_learner()
        learner.set_weights({learner.add_task("reach the red block"): 1.0})
        learner.collect(20)
        learner.save(tmp_path / "ckpt")
        before = (tmp_path / "ckpt" / "learner.pt").read_bytes()
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            Learner.load(tmp_path / "ckpt", device="cuda")
        assert (tmp_path / "ckpt" / "learner.pt").read_bytes() == before
        assert Learner.load(tmp_path / "ckpt").env_steps == learner.env_steps
    assert Learner(LearnerConfig(device="auto", hidden=(8,), batch_size=4, buffer_capacity=8))


def test_replay_fits_a_million_transitions_in_a_gibibyte_and_round_trips(tmp_path):
    buf = ReplayBuffer(capacity=100, obs_dim=52, act_dim=4, chunk=16)
    assert buf.bytes_per_transition * 1_000_000 <= 2**30
    rng = np.random.default_rng(0)
    for _ in range(3):  # 150 transitions into 100 slots: the ring wraps
        obs = rng.standard_normal((50, 52)).astype(np.float32)
        timeout = np.arange(50) >= 45  # the last of five steps of ten arenas
        to_go = 4 - np.arange(50) // 10
        buf.add(obs, rng.uniform(-1, 1, (50, 4)), obs + 1, timeout, Source.CHAIN, 10, to_go)
        buf.save(tmp_path / "replay")
    loaded = ReplayBuffer.load(tmp_path / "replay")
    assert (len(loaded), loaded.pos, loaded.added) == (100, 50, 150)
    np.testing.assert_array_equal(loaded.obs, buf.obs)
    np.testing.assert_array_equal(loaded.next_obs, buf.next_obs)
    np.testing.assert_array_equal(loaded.stride, buf.stride)
    np.testing.assert_array_equal(loaded.to_go, buf.to_go)
    # Each transition finds its episode's last step (the ring wrapped: slots 50-99 hold
    # the second batch, 0-49 the third).
    np.testing.assert_array_equal(loaded.episode_last(np.array([3, 17, 45, 53])), [43, 47, 45, 93])
    assert set(loaded.stride[:45].tolist()) == {10} and set(loaded.stride[45:50].tolist()) == {0}
    assert not list((tmp_path / "replay").glob("*.tmp"))
    with pytest.raises(ValueError, match="NaN"):
        bad = np.full((1, 52), np.nan, dtype=np.float32)
        buf.add(bad, np.zeros((1, 4)), bad, np.zeros(1, bool), Source.POLICY)


def test_the_objects_view_puts_the_named_objects_first_in_order():
    learner = small_learner()
    lay = learner.layout
    stack = as_task("stack the red block on the blue block", lay)
    reach = as_task("reach the green block", lay)
    assert object_indices(stack, lay, 2).tolist() == [lay.index("red"), lay.index("blue")]
    assert object_indices(reach, lay, 2).tolist() == [lay.index("green"), -1]
    obs = torch.arange(lay.dim, dtype=torch.float32)[None] / lay.dim  # within the clip

    def slot(name: str) -> torch.Tensor:
        return obs[0, 7 + 15 * lay.index(name) : 7 + 15 * (lay.index(name) + 1)]

    # Stack: gripper, red, blue, then the mean of the rest (green alone).
    view = learner.agent.inputs(obs, torch.from_numpy(object_indices(stack, lay, 2))[None])
    torch.testing.assert_close(
        view[0], torch.cat([obs[0, :7], slot("red"), slot("blue"), slot("green")])
    )
    # Reach green: gripper, green, an empty slot, the mean of red and blue.
    view = learner.agent.inputs(obs, torch.from_numpy(object_indices(reach, lay, 2))[None])
    rest = (slot("red") + slot("blue")) / 2
    torch.testing.assert_close(
        view[0], torch.cat([obs[0, :7], slot("green"), torch.zeros(15), rest])
    )


def test_instruction_features_are_order_aware_and_take_any_word():
    a = set(features("put the red block on the blue block", 48))
    b = set(features("put the blue block on the red block", 48))
    assert a != b and {w for w in a if "@" not in w and "_" not in w} == {
        w for w in b if "@" not in w and "_" not in w
    }
    ids = tokenize(["zorblax the quux", "reach the red block"], 4096, 48)
    assert ids.shape[0] == 2 and (ids[0] >= -1).all()
    learner = small_learner()
    t = learner.add_task("reach the red block")
    assert learner.instruction(t) == "reach the red block"


def test_collect_returns_each_episode_it_stored_measured_against_its_task():
    learner = small_learner(episode_steps=60)
    reach = learner.add_task("reach the red block")
    stack = learner.add_task("stack the red block on the blue block")
    learner.set_weights({reach: 1.0, stack: 1.0})
    # The policy under reach (random actions at first), then stacking chains measured
    # against stack: every episode comes back with its task, return and success, exactly
    # as the replay holds them.
    for kwargs, task in [
        ({"task_weights": {reach: 1.0}}, reach),
        ({"chain": lambda: Chain(stack_chain(learner.layout)), "noise": 0.05,
          "task_weights": {stack: 1.0}}, stack),
    ]:  # fmt: skip
        start = learner.replay.added
        stats = learner.collect(240, **kwargs)
        assert stats.env_steps == 240 and stats.episodes == 4
        assert [r.task for r in stats.records] == [task] * 4
        assert [r.steps for r in stats.records] == [60] * 4
        got = [(r.total_return, r.success) for r in stats.records]
        assert got == replayed_episodes(learner, start, task)
    assert stats.success_rate == 1.0 and all(r.total_return > 0 for r in stats.records)


def test_chain_data_is_stored_as_chain_source_and_feeds_behaviour_cloning():
    learner = small_learner(bc_weight=1.0, episode_steps=60)
    t = learner.add_task("stack the red block on the blue block")
    learner.set_weights({t: 1.0})
    stats = learner.collect(120, chain=lambda: Chain(stack_chain(learner.layout)), noise=0.05)
    assert stats.episodes == 2 and stats.success_rate == 1.0
    assert (learner.replay.source[: len(learner.replay)] == Source.CHAIN).all()
    metrics = learner.update(4)
    assert metrics["bc_loss"] > 0
    # Cloned only for the tasks the chain's episodes achieved: stacking, not reaching green.
    green = learner.add_task("reach the green block")
    learner.set_weights({t: 1.0, green: 1.0})
    batch, _, _ = learner._sample(200)
    assert (t, green) == (0, 1)  # batch.task indexes the present tasks in id order
    stack_rows = batch.task.numpy() == 0
    assert stack_rows.any() and not stack_rows.all()
    assert batch.bc_mask.numpy()[stack_rows].all()
    assert not batch.bc_mask.numpy()[~stack_rows].any()


@pytest.mark.slow
def test_demo_fraction_pairs_that_share_of_each_batch_with_chains_that_achieved_a_task():
    """Symmetric sampling: with demo_fraction 0.5 half the batch rows are successful chain
    transitions cloned for a task they achieved, although they are a small part of the
    replay and the goal a small part of the task weights; uniform sampling gives a few."""

    def cloned_share(demo_fraction: float) -> float:
        learner = small_learner(bc_weight=1.0, episode_steps=60, demo_fraction=demo_fraction)
        stack = learner.add_task("stack the red block on the blue block")
        reach = learner.add_task("reach the green block")
        learner.set_weights({stack: 1.0})
        learner.collect(120, chain=lambda: Chain(stack_chain(learner.layout)), noise=0.05)
        learner.collect(1080, task_weights={reach: 1.0})  # policy data: 90 % of the replay
        learner.set_weights({stack: 0.1, reach: 0.9})
        batch, _, _ = learner._sample(1000)
        stack_rows = batch.task.numpy() == 0
        # Every cloned row is paired with the task its episode achieved.
        assert not batch.bc_mask.numpy()[~stack_rows].any()
        return float(batch.bc_mask.numpy().mean())

    assert cloned_share(0.0) < 0.05
    assert 0.45 <= cloned_share(0.5) <= 0.55


def test_critic_layer_norm_survives_a_checkpoint(tmp_path):
    learner = small_learner(critic_layer_norm=True)
    t = learner.add_task("reach the red block")
    learner.set_weights({t: 1.0})
    learner.collect(40)
    assert np.isfinite(learner.update(4)["critic_loss"])
    learner.save(tmp_path)
    again = Learner.load(tmp_path)
    assert again.cfg.critic_layer_norm and again.agent.critic.net.layer_norm
    assert not again.agent.actor.net.layer_norm
    batch, tokens, objects = learner._sample(8)
    batch = learner.agent.prepare(batch, objects)

    def q(agent):
        terms = agent.critic.task_terms(agent.encoder(tokens))
        return agent.critic(agent.critic.obs_term(batch.obs), batch.action, batch.task, terms)

    with torch.no_grad():
        assert torch.allclose(q(learner.agent), q(again.agent))


def test_the_averaged_actor_gives_deterministic_actions_and_survives_a_checkpoint(tmp_path):
    """actor_average: evaluation acts with a slow average of the trained actor's weights
    (the trained actor still collects), and the average is kept with the checkpoint."""
    learner = small_learner(actor_average=0.01)
    t = learner.add_task("reach the red block")
    learner.set_weights({t: 1.0})
    learner.collect(40)
    learner.update(20)
    obs = learner.replay.obs[:8]
    ids = np.full(8, t)
    agent = learner.agent
    average = agent.actor_avg
    assert average is not None
    agent.actor_avg = None  # act with the trained actor itself
    trained = learner.act(obs, ids, deterministic=True)
    agent.actor_avg = average
    averaged = learner.act(obs, ids, deterministic=True)
    assert not np.allclose(trained, averaged)  # 20 updates at 1 %: the average lags
    learner.save(tmp_path)
    again = Learner.load(tmp_path)
    assert np.allclose(again.act(obs, ids, deterministic=True), averaged, atol=1e-6)


def test_bc_normalize_scales_the_reinforcement_term_to_unit_q():
    """TD3+BC's normalisation: the actor's Q term is divided by the batch's mean |Q|, so with
    a negligible temperature it is -mean(Q) / mean|Q|, in [-1, 1], whatever the Q scale."""

    def rl_term(normalize: bool) -> float:
        learner = small_learner(
            bc_weight=1.0, episode_steps=60, bc_normalize=normalize, init_alpha=1e-9,
            alpha_lr=1e-12, seed=3,
        )  # fmt: skip
        t = learner.add_task("stack the red block on the blue block")
        learner.set_weights({t: 1.0})
        learner.collect(120, chain=lambda: Chain(stack_chain(learner.layout)), noise=0.05)
        with torch.no_grad():  # Q-values far from 1, as they become with training
            learner.agent.critic.net.head.bias.add_(25.0)
        m = learner.update(1)
        return m["actor_loss"] - m["bc_loss"], m["q"]

    raw, q = rl_term(False)
    normalized, _ = rl_term(True)
    assert q > 20 and raw < -20
    assert normalized == pytest.approx(-1.0, abs=0.05)


def test_importing_the_task_language_does_not_import_torch():
    code = "import controllers, controllers.compile, tasks, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
