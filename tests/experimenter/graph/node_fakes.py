"""In-memory stand-ins for what the nodes drive, so that each node runs alone in milliseconds:
a learner, its checkpoint store, an executor and a planner backend. None steps an arena or
trains a network; each does what the interface promises and records what it was asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import skills
from controllers.layout import SceneConfig
from controllers.learner import EvalResult, LearnerConfig
from experimenter.executor import CollectJob, EpisodeSummary, Rollout
from experimenter.graph.context import Context
from experimenter.graph.state import LoopState
from experimenter.planner.backends.base import PermanentError, Reply, Request
from storage import Database, episodes, runs
from tasks import TaskSpec, as_task, canonical_instruction


@dataclass
class FakeLearner:
    """The part of ``controllers.learner.Learner`` the nodes use: tasks, weights and the
    env-step and update counters; ``update`` only counts."""

    cfg: LearnerConfig
    env_steps: int = 0
    updates: int = 0
    tasks: list[TaskSpec] = field(default_factory=list)
    weights: dict[int, float] = field(default_factory=dict)

    def add_task(self, task: TaskSpec | Mapping[str, Any] | str) -> int:
        """The task's id, added on first sight (idempotent, like the learner's)."""
        spec = as_task(task, SceneConfig().layout()).canonical()
        if spec not in self.tasks:
            self.tasks.append(spec)
        return self.tasks.index(spec)

    def instruction(self, task: int) -> str:
        return canonical_instruction(self.tasks[task])

    def set_weights(self, weights: Mapping[int, float]) -> None:
        self.weights = dict(weights)

    def update(self, n: int) -> dict[str, float]:
        self.updates += n
        return {"critic_loss": 1.0 / self.updates, "alpha": 0.1}

    def close(self) -> None:
        pass


class FakeLearnerStore:
    """``LearnerStore`` in memory: ``save`` remembers the counters, ``drop`` forgets what was
    not saved (the next ``get`` starts from the last save, as a reload would)."""

    def __init__(self, root: Path, config: LearnerConfig) -> None:
        self.root = root
        self.config = config
        self.saved: list[tuple[int, int]] = []
        """``(env_steps, updates)`` of every save, in order."""
        self.drops = 0
        self._learner: FakeLearner | None = None

    @property
    def loaded(self) -> bool:
        return self._learner is not None

    def get(self) -> FakeLearner:
        if self._learner is None:
            steps, updates = self.saved[-1] if self.saved else (0, 0)
            self._learner = FakeLearner(self.config, env_steps=steps, updates=updates)
        return self._learner

    def save(self) -> Path:
        learner = self.get()
        self.saved.append((learner.env_steps, learner.updates))
        folder = self.root / ("a" if len(self.saved) % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def drop(self) -> None:
        self.drops += 1
        self._learner = None

    def close(self) -> None:
        self._learner = None


@dataclass
class FakeExecutor:
    """The executor interface without an arena.

    ``collect`` runs a job as whole episodes of ``episode_steps`` (the learner's env steps
    grow by as many), each a success with the probability scripted for the job's task;
    ``evaluate`` measures a task at its scripted success rate; ``rollout`` returns a
    one-frame GIF. Every call is recorded.
    """

    success: dict[str, float] = field(default_factory=dict)
    """Success rate per canonical instruction (0 for a task not named)."""
    fail_on_round: int | None = None
    """Raise on this collection round (0 = the first): an arena that crashes mid-collect."""
    jobs: list[CollectJob] = field(default_factory=list)
    evaluations: list[tuple[str, int, int]] = field(default_factory=list)
    """``(instruction, episodes, seed)`` of every evaluation, in order."""
    rollouts: list[tuple[str, int]] = field(default_factory=list)

    width: int = 1
    """Rounds handed over per call (as a Ray executor with this many workers)."""

    def collect(self, learner: Any, jobs: Sequence[CollectJob]) -> list[list[EpisodeSummary]]:
        return [self._one(learner, job) for job in jobs]

    def _one(self, learner: Any, job: CollectJob) -> list[EpisodeSummary]:
        if self.fail_on_round is not None and len(self.jobs) == self.fail_on_round:
            learner.env_steps += job.steps  # the round reached the replay, not the database
            raise RuntimeError("the arena crashed")
        self.jobs.append(job)
        length = learner.cfg.episode_steps
        count = max(1, job.steps // length)
        wins = round(self.success.get(learner.instruction(job.task_id), 0.0) * count)
        learner.env_steps += count * length
        return [
            EpisodeSummary(job.skill_id, job.label, length, float(i < wins), i < wins)
            for i in range(count)
        ]

    def close(self) -> None:
        pass

    def evaluate(self, learner: Any, task_id: int, episodes: int, seed: int) -> EvalResult:
        instruction = learner.instruction(task_id)
        self.evaluations.append((instruction, episodes, seed))
        wins = round(self.success.get(instruction, 0.0) * episodes)
        return EvalResult(task_id, instruction, episodes, wins, wins / episodes)

    def rollout(self, learner: Any, task_id: int, seed: int) -> Rollout:
        self.rollouts.append((learner.instruction(task_id), seed))
        return Rollout(b"GIF89a fake " + str(task_id).encode(), 7, 0.5, False)


@dataclass
class ScriptedBackend:
    """A planner backend that answers from a script, one answer per question kind in
    order; a question with no answer left is refused (the planner then asks the rules)."""

    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    name: str = "scripted"
    model: str = "script"
    remote: bool = False
    asked: list[Request] = field(default_factory=list)

    def ask(self, request: Request) -> Reply:
        self.asked.append(request)
        left = self.answers.get(request.kind) or []
        if not left:
            raise PermanentError(f"no scripted {request.kind} answer left")
        return Reply(text=json.dumps(left.pop(0)))


def spec(*atoms: tuple[str, ...]) -> dict[str, Any]:
    """A one-stage spec: ``spec(("grasped", "red"), ("lifted", "red"))``."""
    return {"stages": [{"all": [{"pred": a[0], "args": list(a[1:])} for a in atoms]}]}


@dataclass
class Loop:
    """One experiment on a real database, its context built from the fakes above."""

    ctx: Context
    store: FakeLearnerStore
    executor: FakeExecutor
    backend: ScriptedBackend

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def learner(self) -> FakeLearner:
        return self.store.get()

    def skill(
        self,
        task: dict[str, Any],
        *path: str,
        kind: str = "learned",
        evaluations: tuple[tuple[int, int], ...] = (),
    ) -> int:
        """``task``'s skill in the experiment, taken along ``path`` (statuses from proposed),
        with ``(episodes, successes)`` evaluations 1,000 env steps apart; its id."""
        with self.db.session() as s:
            k = skills.add_skill(s, spec=task, kind=kind, experiment_id=self.ctx.experiment_id)
            for status in path:
                skills.set_status(
                    s, skill_id=k.id, status=status, decided_by="planner", reason="given"
                )
            for i, (n, wins) in enumerate(evaluations):
                skills.record_evaluation(
                    s, skill_id=k.id, episodes=n, successes=wins,
                    env_steps=1000 * (i + 1), experiment_id=self.ctx.experiment_id,
                )  # fmt: skip
        return k.id

    def collected(self, skill_id: int | None, *env_steps: int, success: bool = False) -> None:
        """An episode row of 100 env steps for ``skill_id`` at each of ``env_steps``, as
        ``collect`` records a round's episodes (a chain's when ``success``)."""
        purpose = "collect:chain" if success else "collect:policy"
        with self.db.session() as s:
            for env_step in env_steps:
                episodes.record_episode(
                    s, steps=100, total_return=0.0, success=success, purpose=purpose,
                    skill_id=skill_id, experiment_id=self.ctx.experiment_id, env_step=env_step,
                )  # fmt: skip

    def status(self, skill_id: int) -> str:
        with self.db.reader() as s:
            return skills.get_skill(s, skill_id=skill_id).status

    def iteration(self, **fields: Any) -> LoopState:
        """The state at a new iteration (its row opened), with ``fields`` set."""
        with self.db.session() as s:
            it = runs.start_iteration(s, experiment_id=self.ctx.experiment_id)
        values = {"iteration": it.number, "iteration_id": it.id, **fields}
        return LoopState(experiment_id=self.ctx.experiment_id, **values)
