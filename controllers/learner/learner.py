"""The learner: collect with the batched arena, update on relabelled replay, evaluate, save.

One policy conditioned on a task's canonical instruction learns every active task from
every stored transition, whoever collected it::

    learner = Learner(LearnerConfig(seed=0))
    reach = learner.add_task("reach the red block")
    learner.set_weights({reach: 1.0})
    learner.collect(2_000)                 # policy (random at first) in the arena
    learner.update(2_000)                  # gradient steps on relabelled batches
    learner.evaluate(reach, episodes=20)   # deterministic actions, fixed seeds
    learner.save("ckpt/")                  # networks, optimiser, replay, RNG states
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from controllers.arena import ACTION_DIM
from controllers.env import BlocksVecEnv
from controllers.layout import SceneConfig
from controllers.learner.files import atomic_write
from controllers.learner.replay import ReplayBuffer, Source
from controllers.learner.results import CollectStats, EpisodeRecord, EvalResult, Round
from controllers.learner.sac import SAC, Batch
from controllers.learner.tasks import Normalizer, TaskSet, object_indices
from controllers.learner.text import tokenize
from settings import LearnerConfig
from tasks import TaskSpec, as_task


class Runnable(Protocol):
    """What collection drives on one arena copy: a ``chain.Chain`` (of primitives or of a
    skill's parts, ``skill_exec.build_run``) or anything else that acts on one observation."""

    def act(self, obs: np.ndarray) -> np.ndarray: ...


ChainFactory = Callable[[], Runnable]
"""Makes a fresh chain for one episode (e.g. ``lambda: Chain(stack_chain(l))``)."""

EVAL_SEED = 1_000_000
"""Evaluation episodes use seeds from here on, apart from collection seeds."""


def resolve_device(name: str) -> torch.device:
    """``LearnerConfig.device`` -> a device this machine has (``auto``: CUDA when present).
    Asking for a GPU that is not there fails here, with what there is, rather than deep in
    torch at the first tensor."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device {name!r} asks for CUDA, but torch {torch.__version__} sees no CUDA "
                "GPU on this machine; use device 'cpu', or 'auto' to take a GPU when there is one"
            )
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device {name!r} asks for GPU {device.index}, but this machine has {count} "
                f"(cuda:0 .. cuda:{count - 1})"
            )
    return device


def _atomic_save(obj: Any, path: Path) -> None:
    """``obj`` to ``path`` through ``path.tmp`` (fsynced, then renamed): a crash leaves the old
    file or the new one, never half of one; a failed write (a full disk) removes the
    temporary file and raises the ``OSError`` with its errno.

    torch serialises into memory first: written by torch itself, a full disk surfaces as a
    ``RuntimeError`` that no longer says why."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, lambda f: f.write(buffer.getbuffer()))


class Learner:
    """A language-conditioned SAC learner on the block arena (see the module docstring)."""

    def __init__(
        self,
        config: LearnerConfig | None = None,
        scene: SceneConfig | None = None,
        *,
        arena_threads: int | None = None,
    ):
        self.cfg = config or LearnerConfig()
        # Threads stepping the collection arena's copies (None: one per core, at most one
        # per copy); a Ray worker holding one CPU steps with one.
        self.arena_threads = arena_threads
        self.scene = scene or SceneConfig()
        self.layout = self.scene.layout()
        self.device = resolve_device(self.cfg.device)
        torch.manual_seed(self.cfg.seed)  # network initialisation
        self.rng = np.random.default_rng(self.cfg.seed)
        self.tasks = TaskSet(self.layout)
        self.normalizer = Normalizer(self.layout.dim, self.cfg.obs_clip, self.cfg.obs_std_floor)
        self.replay = ReplayBuffer(
            self.cfg.buffer_capacity, self.layout.dim, ACTION_DIM, self.cfg.buffer_chunk
        )
        self.agent = SAC(self.layout.dim, ACTION_DIM, self.cfg, self.device).to(self.device)
        self.env_steps = 0
        self.updates = 0
        self._tokens = torch.zeros((0, 1), dtype=torch.int64)
        # Per task, the objects it names (scene indices; read by "objects" conditioning).
        self._objects = torch.zeros((0, self.cfg.object_heads), dtype=torch.int64)
        self._venv: BlocksVecEnv | None = None

    # --- tasks --------------------------------------------------------------------------------

    def add_task(self, task: TaskSpec | Mapping[str, Any] | str) -> int:
        """Register a task (spec, dict or instruction) and return its id; idempotent."""
        before = len(self.tasks.tasks)
        tid = self.tasks.add(as_task(task, self.layout))
        if len(self.tasks.tasks) != before:
            self._tokens = tokenize(
                [t.instruction for t in self.tasks.tasks],
                self.cfg.text_buckets,
                self.cfg.max_tokens,
            ).to(self.device)
            slots = [
                object_indices(t.spec, self.layout, self.cfg.object_heads) for t in self.tasks.tasks
            ]
            self._objects = torch.from_numpy(np.stack(slots)).to(self.device)
        return tid

    def set_weights(self, weights: Mapping[int, float]) -> None:
        """Which tasks are trained (and collected for) and how often, by task id."""
        self.tasks.set_weights(weights)

    def instruction(self, task: int) -> str:
        return self.tasks.tasks[task].instruction

    # --- acting -------------------------------------------------------------------------------

    def act(self, obs: np.ndarray, task_ids: np.ndarray, deterministic: bool) -> np.ndarray:
        """Policy actions for a batch of observations, each under its own task."""
        obs_t = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=self.device)
        if not torch.isfinite(obs_t).all():
            raise ValueError("observation contains NaN or inf; the policy cannot act on it")
        if obs_t.ndim != 2 or obs_t.shape[1] != self.layout.dim:
            raise ValueError(
                f"observations must have shape (N, {self.layout.dim}), got {tuple(obs_t.shape)}"
            )
        self.sync_normalizer()
        tokens, objects = self.task_inputs(task_ids)
        return self.agent.act(obs_t, tokens, objects, deterministic).cpu().numpy()

    def task_inputs(
        self, task_ids: np.ndarray | Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What ``SAC.act`` takes to act under tasks ``task_ids (B,)``: their instructions'
        feature ids ``(B, L)`` and the objects they name ``(B, H)``."""
        rows = torch.as_tensor(task_ids, device=self.device)
        return self._tokens[rows], self._objects[rows]

    def sync_normalizer(self) -> None:
        """Copy the running observation statistics into the agent, whose every pass
        normalises with them (acting, updates, an exported policy)."""
        self.agent.set_normalizer(self.normalizer.mean, self.normalizer.std())

    def _env(self) -> BlocksVecEnv:
        if self._venv is None:
            self._venv = BlocksVecEnv(
                self.cfg.num_envs, scene=self.scene, max_episode_steps=self.cfg.episode_steps,
                threads=self.arena_threads,
            )  # fmt: skip
        return self._venv

    # --- collection ---------------------------------------------------------------------------

    def collect(
        self,
        steps: int,
        *,
        chain: ChainFactory | None = None,
        noise: float = 0.0,
        task_weights: Mapping[int, float] | None = None,
    ) -> CollectStats:
        """Collect at least ``steps`` env steps in whole episodes and store them; returns
        every episode, measured against its task.

        Each episode's task is drawn from the active weights (or ``task_weights``). Without
        ``chain`` the policy acts under it (uniformly random until ``random_steps`` env steps
        have been collected). With ``chain`` every episode runs a fresh chain from the
        factory, its actions perturbed by Gaussian ``noise``; the task then only says what
        the episode is measured against. Whole episodes only: no environment state outlives
        a call, so a checkpoint between calls resumes exactly.
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        n, horizon = self.cfg.num_envs, self.cfg.episode_steps
        rounds = -(-steps // (n * horizon))
        weights = self.collect_weights(task_weights, chained=chain is not None)
        records: list[EpisodeRecord] = []
        for _ in range(rounds):
            seeds, task_ids = self.draw_round(weights)
            random_phase = self.random_phase(chained=chain is not None)
            source = Source.of_round(chained=chain is not None, random_phase=random_phase)
            played = self.play_round(
                seeds, task_ids, chain=chain, noise=noise, rng=self.rng,
                random_phase=random_phase,
                on_step=partial(self._store_step, source=source),
            )  # fmt: skip
            records += self._measure(played.next_obs.swapaxes(0, 1), task_ids)
            self.env_steps += n * horizon
        return CollectStats(rounds * n * horizon, tuple(records))

    def collect_weights(
        self, task_weights: Mapping[int, float] | None = None, *, chained: bool = False
    ) -> np.ndarray:
        """Per task, how likely a collected episode is to be drawn under it: the active
        weights, or ``task_weights`` for this collection only."""
        weights = self.tasks.weights
        if task_weights is not None:
            probe = TaskSet(self.layout)
            probe.tasks, probe.weights = self.tasks.tasks, np.zeros(len(self.tasks.tasks))
            probe.set_weights(task_weights)
            weights = probe.weights
        if not chained and weights.sum() <= 0:
            raise ValueError("no active tasks to collect for; call set_weights first")
        return weights

    def random_phase(self, *, chained: bool) -> bool:
        """Whether the policy's next round acts uniformly at random (the warm-up before
        ``random_steps`` env steps; a chain always acts)."""
        return not chained and self.env_steps < self.cfg.random_steps

    def draw_round(self, weights: np.ndarray) -> tuple[list[int], np.ndarray]:
        """A round's arena seeds and tasks, one per copy, from the learner's RNG."""
        n = self.cfg.num_envs
        seeds = self.rng.integers(0, 2**31 - 1, size=n).tolist()
        task_ids = (
            self.rng.choice(len(weights), size=n, p=weights / weights.sum())
            if weights.sum() > 0
            else np.zeros(n, dtype=np.int64)
        )
        return seeds, task_ids

    def play_round(
        self,
        seeds: Sequence[int],
        task_ids: np.ndarray,
        *,
        chain: ChainFactory | None = None,
        noise: float = 0.0,
        rng: np.random.Generator,
        random_phase: bool = False,
        on_step: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    ) -> Round:
        """One episode on each arena copy from ``seeds``, stored nowhere: what ``collect``
        stores, and what a remote worker sends back for its driver's learner to store.

        The policy acts under ``task_ids`` (uniformly random actions in the ``random_phase``);
        with ``chain``, a fresh chain per copy acts, perturbed by Gaussian ``noise`` from
        ``rng``. ``on_step(t, obs, action, stored_next)`` sees each step as it happens.
        """
        venv = self._env()
        n, horizon = venv.num_envs, self.cfg.episode_steps
        dtype = self.replay.next_obs.dtype
        played = Round(
            task_ids=np.asarray(task_ids, dtype=np.int64),
            obs=np.empty((horizon, n, self.layout.dim), dtype=dtype),
            action=np.empty((horizon, n, ACTION_DIM), dtype=self.replay.action.dtype),
            next_obs=np.empty((horizon, n, self.layout.dim), dtype=dtype),
        )
        obs, _ = venv.reset(seed=list(seeds))
        chains = [chain() for _ in range(n)] if chain is not None else []
        for t in range(horizon):
            if chain is not None:
                action = np.stack([c.act(o) for c, o in zip(chains, obs, strict=True)])
                if noise > 0:
                    action = action + noise * rng.standard_normal(action.shape)
                action = np.clip(action, -1.0, 1.0)
            elif random_phase:
                action = rng.uniform(-1.0, 1.0, size=(n, ACTION_DIM))
            else:
                action = self.act(obs, played.task_ids, deterministic=False)
            next_obs, _, _, _, info = venv.step(action)
            # The last step's stored next observation is the episode's true final one.
            stored_next = info["final_obs"] if t == horizon - 1 else next_obs
            played.obs[t], played.action[t], played.next_obs[t] = obs, action, stored_next
            if on_step is not None:
                on_step(t, obs, action, stored_next)
            obs = next_obs
        return played

    def store_round(self, played: Round, source: Source) -> list[EpisodeRecord]:
        """Store a round played elsewhere (``play_round`` on a worker's copy), step by step
        as ``collect`` stores its own, and measure its episodes against their tasks."""
        horizon, n = played.obs.shape[:2]
        if (horizon, n) != (self.cfg.episode_steps, self.cfg.num_envs):
            raise ValueError(
                f"a round of {n} episodes of {horizon} steps does not fit this learner's "
                f"{self.cfg.num_envs} of {self.cfg.episode_steps}"
            )
        for t in range(horizon):
            self._store_step(t, played.obs[t], played.action[t], played.next_obs[t], source)
        self.env_steps += n * horizon
        return self._measure(played.next_obs.swapaxes(0, 1), played.task_ids)

    def _store_step(
        self, t: int, obs: np.ndarray, action: np.ndarray, stored_next: np.ndarray, source: Source
    ) -> None:
        horizon = self.cfg.episode_steps
        n = len(obs)
        last = t == horizon - 1
        self.replay.add(
            obs, action, stored_next, np.full(n, last), source, stride=n, to_go=horizon - 1 - t
        )
        self.normalizer.update(obs)

    # --- a remote worker's copy ---------------------------------------------------------------

    def policy_state(self) -> dict[str, Any]:
        """What a copy needs to act as this learner does: the acting networks' weights, the
        observation statistics and the tasks (not the critics, optimiser or replay)."""
        acting = ("encoder.", "actor.", "actor_avg.")
        return {
            "agent": {
                k: v.detach().cpu()
                for k, v in self.agent.state_dict().items()
                if k.startswith(acting)
            },
            "normalizer": self.normalizer.state(),
            "tasks": [t.spec.model_dump(mode="json", exclude_none=True) for t in self.tasks.tasks],
        }

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        """Act as the learner whose ``policy_state()`` this is (its tasks added in order)."""
        for i, spec in enumerate(state["tasks"]):
            if self.add_task(spec) != i:
                raise ValueError("the copy's tasks differ from the learner's; start a fresh copy")
        missing = self.agent.load_state_dict(state["agent"], strict=False).missing_keys
        if any(k.startswith(("actor.", "encoder.")) for k in missing):
            raise ValueError(f"policy state lacks {missing[:3]}; was it made by policy_state()?")
        self.normalizer.load_state(state["normalizer"])

    def _measure(self, seen: np.ndarray, task_ids: np.ndarray) -> list[EpisodeRecord]:
        """Each copy's episode against its task, from ``seen[i]``, the ``(horizon, dim)``
        next observations copy ``i`` stored: its reward summed, its success at the end."""
        horizon = seen.shape[1]
        if not self.tasks.tasks:
            return [EpisodeRecord(None, horizon, 0.0, False) for _ in task_ids]
        out = []
        for i, task in enumerate(task_ids.tolist()):
            reward, success = self.tasks.tasks[task].compiled.evaluate(seen[i])
            out.append(EpisodeRecord(task, horizon, float(np.sum(reward)), bool(success[-1])))
        return out

    # --- training -----------------------------------------------------------------------------

    def update(self, n: int) -> dict[str, float]:
        """``n`` gradient steps on batches relabelled for tasks drawn by the active weights."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if len(self.replay) == 0:
            raise ValueError("the replay buffer is empty; collect data before updating")
        self.sync_normalizer()
        bsz, k_max = self.cfg.batch_size, self.cfg.relabel_chunk
        sums: dict[str, torch.Tensor] = {}
        done = 0
        while done < n:
            k = min(k_max, n - done)
            batches, tokens, objects = self._sample(k * bsz)
            with torch.no_grad():
                batches = self.agent.prepare(batches, objects)
            for i in range(k):
                sl = slice(i * bsz, (i + 1) * bsz)
                b = Batch(*(x[sl] for x in batches))
                metrics = self.agent.update(b, tokens)
                for key, v in metrics.items():
                    sums[key] = sums.get(key, 0.0) + v
            done += k
        self.updates += n
        return {k: float(v) / n for k, v in sums.items()}

    def _reward(self, next_obs: np.ndarray, task_ids: np.ndarray) -> np.ndarray:
        """The training reward: the task's progress, part of it paid by success alone."""
        progress, success = self.tasks.relabel(next_obs, task_ids)
        w = self.cfg.success_weight
        if w == 0:
            return progress
        return ((1 - w) * progress + w * success).astype(np.float32)

    def _sample(self, size: int) -> tuple[Batch, torch.Tensor, torch.Tensor]:
        idx = self.replay.sample_indices(size, self.rng)
        task_ids = self.tasks.sample(size, self.rng)
        if self.cfg.demo_fraction > 0:
            self._pair_demonstrations(idx, task_ids)
        obs, next_obs = self.replay.obs[idx], self.replay.next_obs[idx]
        action, source = self.replay.action[idx], self.replay.source[idx]
        reward = self._reward(next_obs, task_ids)
        gamma = np.float32(self.cfg.gamma)
        discount = np.full(size, gamma, dtype=np.float32)
        if self.cfg.n_step > 1:
            # Sum the relabelled rewards along each episode; bootstrap where it stops.
            rows, alive = self.replay.successors(idx, self.cfg.n_step)
            reward = reward.copy()
            for j in range(1, self.cfg.n_step):
                live = np.flatnonzero(alive[j])
                r_j = self._reward(self.replay.next_obs[rows[j, live]], task_ids[live])
                reward[live] += discount[live] * r_j
                discount[live] *= gamma
            next_obs = self.replay.next_obs[rows[-1]]
        mask = np.zeros(size, dtype=bool)
        chain = np.flatnonzero((source == Source.CHAIN) & (self.cfg.bc_weight > 0))
        if len(chain):
            # Imitate a chain's action only where its episode achieved the sampled task
            # (success at the episode's last step): a chain stacking red on blue teaches
            # "stack" all the way, grasp included, and never "reach the green block".
            last = self.replay.episode_last(idx[chain])
            _, achieved = self.tasks.relabel(self.replay.next_obs[last], task_ids[chain])
            mask[chain] = achieved
        # Encode only the tasks present; the batch indexes rows of this small table.
        present, rows = np.unique(task_ids, return_inverse=True)
        dev = self.device
        batch = Batch(
            torch.from_numpy(obs).to(dev),
            torch.from_numpy(action).to(dev),
            torch.from_numpy(next_obs).to(dev),
            torch.from_numpy(reward).to(dev),
            torch.from_numpy(discount).to(dev),
            torch.from_numpy(rows.astype(np.int64)).to(dev),
            torch.from_numpy(mask.astype(np.float32)).to(dev),
            torch.randn((size, 2, ACTION_DIM), generator=self.agent.gen, device=dev),
        )
        rows_t = torch.from_numpy(present).to(dev)
        return batch, self._tokens[rows_t], self._objects[rows_t]

    def _pair_demonstrations(self, idx: np.ndarray, task_ids: np.ndarray) -> None:
        """Replace ``demo_fraction`` of the rows of ``(idx, task_ids)``, at random places,
        by chain transitions whose episode achieved an active task, paired with one such
        task drawn by the training weights. Rows stay uniform where too few exist."""
        want = round(len(idx) * self.cfg.demo_fraction)
        chain = np.flatnonzero(self.replay.source[: len(self.replay)] == Source.CHAIN)
        active = self.tasks.active
        if want == 0 or not len(chain):
            return
        # Twice the rows wanted: chain episodes that achieved nothing active are dropped.
        cand = chain[self.rng.integers(0, len(chain), size=2 * want)]
        final = self.replay.next_obs[self.replay.episode_last(cand)]
        achieved = np.stack(
            [self.tasks.relabel(final, np.full(len(cand), t))[1] for t in active], axis=1
        )
        weight = achieved * self.tasks.weights[active]
        ok = np.flatnonzero(weight.sum(1) > 0)[:want]
        if not len(ok):
            return
        cum = np.cumsum(weight[ok], axis=1)
        pick = (cum < self.rng.random(len(ok))[:, None] * cum[:, -1:]).sum(1)
        rows = self.rng.permutation(len(idx))[: len(ok)]
        idx[rows] = cand[ok]
        task_ids[rows] = active[pick]

    # --- evaluation ---------------------------------------------------------------------------

    def evaluate(self, task: int, episodes: int = 20, seed: int = EVAL_SEED) -> EvalResult:
        """Success rate of ``task`` over ``episodes`` fixed-seed episodes, deterministic actions.

        An episode succeeds when the task holds at its last step (``episode_steps``).
        """
        if not 0 <= task < len(self.tasks.tasks):
            raise KeyError(f"unknown task id {task}; known ids 0..{len(self.tasks.tasks) - 1}")
        compiled = self.tasks.tasks[task].compiled
        venv = BlocksVecEnv(
            episodes,
            scene=self.scene,
            max_episode_steps=self.cfg.episode_steps,
            threads=min(os.cpu_count() or 1, episodes),
        )
        obs, _ = venv.reset(seed=[seed + i for i in range(episodes)])
        ids = np.full(episodes, task)
        ret = np.zeros(episodes)
        final = obs
        for t in range(self.cfg.episode_steps):
            obs, _, _, _, info = venv.step(self.act(obs, ids, deterministic=True))
            final = info["final_obs"] if t == self.cfg.episode_steps - 1 else obs
            ret += compiled.reward(final)
        venv.close()
        ok = compiled.success(final)
        return EvalResult(task, self.instruction(task), episodes, int(ok.sum()), float(ret.mean()))

    # --- persistence --------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Everything needed to continue this run: networks, optimiser, temperature,
        normaliser, tasks, counters, RNG states (``learner.pt``) and the replay (``replay/``)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.replay.save(d / "replay")
        state = {
            "config": self.cfg.to_dict(),
            "scene": pickle.dumps(self.scene),
            "agent": self.agent.state_dict(),
            "optimizer": self.agent.optimizer_state(),
            "tasks": self.tasks.state(),
            "normalizer": self.normalizer.state(),
            "env_steps": self.env_steps,
            "updates": self.updates,
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": self.agent.gen.get_state(),
            "replay_added": self.replay.added,
        }
        _atomic_save(state, d / "learner.pt")
        return d

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None) -> Learner:
        d = Path(directory)
        path = d / "learner.pt"
        if not path.exists():
            raise FileNotFoundError(f"no learner checkpoint at {path}")
        state = torch.load(path, map_location="cpu", weights_only=False)
        learner = cls(_saved_config(state, device), pickle.loads(state["scene"]))
        for spec in state["tasks"]["specs"]:
            learner.add_task(spec)
        learner.tasks.weights = np.asarray(state["tasks"]["weights"], dtype=np.float64)
        learner.agent.load_state_dict(state["agent"])
        learner.agent.load_optimizer_state(state["optimizer"])
        learner.normalizer.load_state(state["normalizer"])
        learner.env_steps, learner.updates = state["env_steps"], state["updates"]
        learner.rng.bit_generator.state = state["numpy_rng"]
        learner.agent.gen.set_state(state["torch_rng"])
        learner.replay = ReplayBuffer.load(d / "replay")
        if learner.replay.added != state["replay_added"]:
            raise ValueError(
                f"replay in {d / 'replay'} holds {learner.replay.added} transitions but the "
                f"checkpoint expects {state['replay_added']}; the two were saved at different times"
            )
        return learner

    @classmethod
    def load_policy(cls, directory: str | Path, device: str | None = None) -> Learner:
        """A copy acting as the checkpoint's learner (networks, observation statistics,
        tasks, counters) without its replay or optimiser: for watching and measuring the
        policy, never for training on (its replay is empty and tiny)."""
        path = Path(directory) / "learner.pt"
        if not path.exists():
            raise FileNotFoundError(f"no learner checkpoint at {path}")
        state = torch.load(path, map_location="cpu", weights_only=False)
        learner = cls.acting_copy(_saved_config(state, device), pickle.loads(state["scene"]))
        learner.load_policy_state(
            {"agent": state["agent"], "normalizer": state["normalizer"],
             "tasks": state["tasks"]["specs"]}
        )  # fmt: skip
        learner.env_steps, learner.updates = state["env_steps"], state["updates"]
        return learner

    @classmethod
    def acting_copy(
        cls, config: LearnerConfig, scene: SceneConfig, *, arena_threads: int | None = None
    ) -> Learner:
        """A learner that only acts (``load_policy_state`` gives it a policy): its replay
        holds one batch, never filled, instead of allocating the configured capacity."""
        small = {"buffer_capacity": config.batch_size, "buffer_chunk": config.batch_size}
        return cls(config.model_copy(update=small), scene, arena_threads=arena_threads)

    def close(self) -> None:
        if self._venv is not None:
            self._venv.close()
            self._venv = None


def _saved_config(state: Mapping[str, Any], device: str | None) -> LearnerConfig:
    """The settings a checkpoint was saved with (on ``device`` if given)."""
    cfg_dict = dict(state["config"])
    # Saved before the floor was a setting: keep the scaling its networks learned on.
    cfg_dict.setdefault("obs_std_floor", 1e-3)
    if device is not None:
        cfg_dict["device"] = device
    return LearnerConfig(**cfg_dict)


def train_tasks(
    learner: Learner,
    tasks: Sequence[int],
    *,
    env_steps: int,
    collect_every: int = 1_000,
    updates_per_step: float = 0.5,
    eval_every: int = 5_000,
    eval_episodes: int = 20,
    on_eval: Callable[[int, list[EvalResult]], None] | None = None,
    stop_at: float | None = None,
) -> list[tuple[int, list[EvalResult]]]:
    """A plain training loop: collect, update, evaluate, until ``env_steps`` env steps.

    Returns the evaluation history ``[(env_steps, [result per task]), ...]``; stops early
    once every task reaches ``stop_at`` success.
    """
    learner.set_weights({t: 1.0 for t in tasks})
    history: list[tuple[int, list[EvalResult]]] = []
    next_eval = eval_every
    start = learner.env_steps
    while learner.env_steps - start < env_steps:
        stats = learner.collect(collect_every)
        if learner.env_steps >= learner.cfg.random_steps // 2:
            learner.update(max(1, int(stats.env_steps * updates_per_step)))
        if learner.env_steps - start >= next_eval or learner.env_steps - start >= env_steps:
            next_eval += eval_every
            results = [learner.evaluate(t, eval_episodes) for t in tasks]
            history.append((learner.env_steps, results))
            if on_eval is not None:
                on_eval(learner.env_steps, results)
            if stop_at is not None and all(r.success_rate >= stop_at for r in results):
                break
    return history
