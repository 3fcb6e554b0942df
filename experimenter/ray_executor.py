"""Collection and evaluation in Ray actors; the learner, its replay and the database stay on
the driver.

Each worker is an actor with one CPU: a batched arena and a CPU copy of the policy (a
``Learner`` used only to act, its replay empty). Before a call the driver puts the acting
weights, observation statistics and tasks into Ray's object store once per version (a new
version after every training step or collection); a worker fetches them only when its copy
is older. The driver draws every round's arena seeds and tasks from the learner's own RNG
(so which worker plays a round changes nothing but who played it), workers send rounds back
as arrays, and the driver alone stores them in the replay, in job order, and writes rows.

Faults: a worker that dies mid-call (its process killed, its node lost) is replaced by a new
actor and its rounds are played again with the same seeds. Nothing of a lost round was
stored, so no episode is lost or recorded twice; the daemon logs the replacement and goes on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controllers.learner import EvalResult, Learner, Source
from controllers.learner.results import Round
from experimenter.executor import (
    CollectJob,
    EpisodeSummary,
    InProcessExecutor,
    Rollout,
    chain_factory,
)
from settings import ExecutorSettings, LearnerConfig

log = logging.getLogger(__name__)

REPLACEMENTS_PER_CALL = 3
"""Workers a single call may replace before it gives up (a cluster that keeps losing them is
not one to collect on)."""


@dataclass(frozen=True)
class RoundOrder:
    """One round for a worker to play: everything random about it is fixed by the driver."""

    seeds: list[int]
    task_ids: np.ndarray
    parts: Any
    """The job's ``PartSpec`` tuple, or None for the policy alone."""
    noise: float
    random_phase: bool
    rng_seed: int
    """Seeds the worker's generator for the round's noise or random actions."""


class Worker:
    """The actor's body (made remote by ``RayExecutor``): an arena and a copy of the policy."""

    def __init__(self, config: dict[str, Any], scene: bytes, policy_timeout: int) -> None:
        import ray
        import torch

        torch.set_num_threads(1)  # one CPU per actor: as many actors as cores
        cfg = LearnerConfig.model_validate(config).model_copy(update={"device": "cpu"})
        self.learner = Learner.acting_copy(cfg, pickle.loads(scene), arena_threads=1)
        self.policy_timeout = policy_timeout
        self.version: tuple[int, ...] | None = None
        here = ray.get_runtime_context()
        self.name = f"{here.get_node_id()[:12]}/{(here.get_actor_id() or 'driver')[:12]}"
        self.pid = os.getpid()

    def identity(self) -> tuple[str, int]:
        return self.name, self.pid

    def _sync(self, version: tuple[int, ...], state: list[Any]) -> None:
        if version == self.version:
            return
        import ray

        self.learner.load_policy_state(ray.get(state[0]))
        self.version = version

    def play(
        self, version: tuple[int, ...], state: list[Any], orders: list[RoundOrder]
    ) -> tuple[str, list[Round]]:
        self._sync(version, state)
        out = []
        for order in orders:
            chain = (
                chain_factory(order.parts, self.learner, self.policy_timeout)
                if order.parts is not None
                else None
            )
            out.append(
                self.learner.play_round(
                    order.seeds,
                    order.task_ids,
                    chain=chain,
                    noise=order.noise,
                    rng=np.random.default_rng(order.rng_seed),
                    random_phase=order.random_phase,
                )
            )
        return self.name, out

    def evaluate(
        self, version: tuple[int, ...], state: list[Any], task: int, episodes: int, seed: int
    ) -> tuple[int, float]:
        """Successes and the summed return of ``episodes`` deterministic episodes."""
        self._sync(version, state)
        result = self.learner.evaluate(task, episodes, seed=seed)
        return result.successes, result.mean_return * episodes


@dataclass
class WorkerInfo:
    """What the driver knows of a worker, for people: its name, process and share."""

    name: str
    pid: int
    env_steps: int = 0
    rounds: int = 0


@dataclass
class Traffic:
    """Bytes through the object store and driver-side seconds, for ``benchmarks/executor.py``."""

    weights_out: int = 0
    episodes_back: int = 0
    calls: int = 0
    wait_s: float = 0.0
    store_s: float = 0.0


@dataclass
class RayExecutor:
    """``Executor`` whose arenas step in ``workers`` Ray actors (see the module docstring)."""

    workers: int = 2
    address: str | None = None
    """A cluster to join ('auto', HOST:PORT); None starts a local one (``ray.init``)."""
    policy_timeout: int = 100
    init: dict[str, Any] = field(default_factory=dict)
    """Further ``ray.init`` arguments when this executor starts Ray."""
    replaced: int = 0
    """Workers replaced after dying, over the executor's life."""
    traffic: Traffic = field(default_factory=Traffic)
    _actors: list[Any] = field(default_factory=list)
    _info: list[WorkerInfo] = field(default_factory=list)
    _started: bool = False
    _remote: Any = None
    _version: tuple[int, ...] | None = None
    _state: Any = None

    @property
    def width(self) -> int:
        return self.workers

    @classmethod
    def from_settings(cls, settings: ExecutorSettings, *, policy_timeout: int) -> RayExecutor:
        return cls(
            workers=settings.workers, address=settings.ray_address, policy_timeout=policy_timeout
        )

    # --- workers --------------------------------------------------------------------------

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as e:  # the optional extra
            raise RuntimeError(
                "--executor ray needs Ray: pip install 'experimenter[ray]' (or pip install ray)"
            ) from e
        if not ray.is_initialized():
            if self.address is None:
                # "local": a new cluster of our own even when one runs here already (ray.init()
                # would join that one, and refuse num_cpus). Workers at nice 0, not Ray's 15:
                # the driver waits on them, and at 15 anything else on the machine starves them
                # (290 env steps/s instead of 1,667 beside two training runs).
                ray.init(
                    address="local", include_dashboard=False, log_to_driver=False,
                    _system_config={"worker_niceness": 0},
                    **{"num_cpus": max(self.workers, os.cpu_count() or 1), **self.init},
                )  # fmt: skip
            else:
                ray.init(address=self.address, log_to_driver=False, **self.init)
            self._started = True
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1, max_restarts=0)(Worker)
        return ray

    def _spawn(self, learner: Learner, count: int = 1) -> list[tuple[Any, WorkerInfo]]:
        """``count`` new workers, started at once (each imports torch and MuJoCo)."""
        ray = self._ray()
        config, scene = learner.cfg.model_dump(mode="json"), pickle.dumps(learner.scene)
        actors = [self._remote.remote(config, scene, self.policy_timeout) for _ in range(count)]
        ids = ray.get([a.identity.remote() for a in actors])
        return [(a, WorkerInfo(name, pid)) for a, (name, pid) in zip(actors, ids, strict=True)]

    def _ensure_workers(self, learner: Learner) -> None:
        for actor, info in self._spawn(learner, self.workers - len(self._actors)):
            self._actors.append(actor)
            self._info.append(info)
            log.info("ray worker %d started: %s (pid %d)", len(self._actors) - 1, info.name,
                     info.pid)  # fmt: skip

    def _replace(self, i: int, learner: Learner, error: BaseException) -> None:
        ray = self._ray()
        old = self._info[i]
        with contextlib.suppress(Exception):  # already gone
            ray.kill(self._actors[i])
        [(self._actors[i], self._info[i])] = self._spawn(learner)
        self.replaced += 1
        log.warning(
            "ray worker %d (%s) died mid-call (%s); replaced by %s; its unfinished rounds "
            "are played again", i, old.name, type(error).__name__, self._info[i].name,
        )  # fmt: skip

    def worker_infos(self) -> list[WorkerInfo]:
        return list(self._info)

    def _policy(self, learner: Learner) -> list[Any]:
        """The acting state in the object store, put once per version; wrapped in a list so
        that Ray hands workers the reference (fetched only by a copy that is older)."""
        ray = self._ray()
        version = (learner.updates, learner.env_steps, len(learner.tasks.tasks))
        if version != self._version:
            state = learner.policy_state()
            self._state = ray.put(state)
            self._version = version
            self.traffic.weights_out += sum(v.nbytes for v in state["agent"].values())
        return [self._state]

    def _call(self, learner: Learner, method: str, args_of: list[tuple[Any, ...]]) -> list[Any]:
        """Run ``method`` on worker ``i`` with ``args_of[i]`` (skipping empty ones); a worker
        that dies is replaced and its call made again. Results in worker order."""
        ray = self._ray()
        from ray.exceptions import ActorUnavailableError, RayActorError

        self._ensure_workers(learner)
        state = self._policy(learner)
        assert self._version is not None
        pending = {
            i: getattr(self._actors[i], method).remote(self._version, state, *args)
            for i, args in enumerate(args_of)
            if args
        }
        results: dict[int, Any] = {}
        replacements = 0
        start = time.perf_counter()
        while pending:
            ready, _ = ray.wait(list(pending.values()), num_returns=1)
            i = next(k for k, ref in pending.items() if ref == ready[0])
            try:
                results[i] = ray.get(ready[0])
                del pending[i]
            except (RayActorError, ActorUnavailableError) as e:
                replacements += 1
                if replacements > REPLACEMENTS_PER_CALL:
                    raise RuntimeError(
                        f"{replacements} ray workers died in one call; last: {e}"
                    ) from e
                self._replace(i, learner, e)
                pending[i] = getattr(self._actors[i], method).remote(
                    self._version, state, *args_of[i]
                )
        self.traffic.wait_s += time.perf_counter() - start
        self.traffic.calls += 1
        return [results[i] for i in sorted(results)]

    # --- the executor interface -----------------------------------------------------------

    def collect(self, learner: Learner, jobs: Sequence[CollectJob]) -> list[list[EpisodeSummary]]:
        round_steps = learner.cfg.num_envs * learner.cfg.episode_steps
        orders: list[tuple[int, RoundOrder]] = []  # (job index, round), in job order
        for j, job in enumerate(jobs):
            weights = learner.collect_weights({job.task_id: 1.0}, chained=job.parts is not None)
            for _ in range(math.ceil(job.steps / round_steps)):
                seeds, task_ids = learner.draw_round(weights)
                orders.append((j, RoundOrder(
                    seeds, task_ids, job.parts, job.noise,
                    random_phase=learner.random_phase(chained=job.parts is not None),
                    rng_seed=int(learner.rng.integers(2**63 - 1)),
                )))  # fmt: skip
        # Round k to worker k mod n: each worker's rounds come back in its order.
        per_worker: list[list[int]] = [[] for _ in range(self.workers)]
        for k in range(len(orders)):
            per_worker[k % self.workers].append(k)
        args = [((([orders[k][1] for k in ks]),) if ks else ()) for ks in per_worker]
        played: dict[int, tuple[str, Round]] = {}
        for ks, (name, rounds) in zip(
            [ks for ks in per_worker if ks], self._call(learner, "play", args), strict=True
        ):
            for k, r in zip(ks, rounds, strict=True):
                played[k] = (name, r)
        start = time.perf_counter()
        out: list[list[EpisodeSummary]] = [[] for _ in jobs]
        for k, (j, order) in enumerate(orders):  # stored in the order the rounds were drawn
            name, r = played[k]
            job = jobs[j]
            self.traffic.episodes_back += r.nbytes
            source = Source.of_round(chained=job.parts is not None, random_phase=order.random_phase)
            for e in learner.store_round(r, source):
                out[j].append(
                    EpisodeSummary(job.skill_id, job.label, e.steps, e.total_return, e.success,
                                   worker=name)
                )  # fmt: skip
            info = next((w for w in self._info if w.name == name), None)
            if info is not None:
                info.env_steps += round_steps
                info.rounds += 1
        self.traffic.store_s += time.perf_counter() - start
        return out

    def evaluate(self, learner: Learner, task_id: int, episodes: int, seed: int) -> EvalResult:
        """As ``Learner.evaluate`` (deterministic, seeds ``seed``, ``seed + 1``...), the
        episodes split over the workers in seed ranges."""
        share = [episodes // self.workers + (i < episodes % self.workers)
                 for i in range(self.workers)]  # fmt: skip
        starts = np.concatenate([[0], np.cumsum(share)[:-1]]).tolist()
        args = [
            ((task_id, n, seed + int(s)) if n else ()) for n, s in zip(share, starts, strict=True)
        ]
        results = self._call(learner, "evaluate", args)
        successes = sum(r[0] for r in results)
        total = sum(r[1] for r in results)
        return EvalResult(
            task_id, learner.instruction(task_id), episodes, int(successes), total / episodes
        )

    def rollout(self, learner: Learner, task_id: int, seed: int) -> Rollout:
        """Rendered on the driver: one episode, now and then, for people to watch."""
        return InProcessExecutor(self.policy_timeout).rollout(learner, task_id, seed)

    def close(self) -> None:
        """Stop the workers (and the local Ray this executor started)."""
        if not self._actors and not self._started:
            return
        import ray

        for actor in self._actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        self._actors.clear()
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False
