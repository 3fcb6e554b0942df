"""Each node alone: a real database, and in-memory fakes for the learner, the executor and
the planner's model (``node_fakes``), so that no test steps an arena or trains a network."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from node_fakes import FakeExecutor, FakeLearnerStore, Loop, ScriptedBackend

from controllers.learner import LearnerConfig
from experimenter.graph.context import Context
from experimenter.planner import DatabaseRecorder, Image, Planner
from settings import LoopSettings
from storage import Database, runs

_names = itertools.count()


@pytest.fixture
def make_loop(sqlite_db: Database, tmp_path: Path) -> Callable[..., Loop]:
    """``make_loop(answers=..., success=..., learner=..., **settings)``: a new experiment whose
    planner answers from ``answers`` (per question kind), whose executor succeeds at the
    rates of ``success`` (per canonical instruction), with a learner of ``learner``'s
    ``LearnerConfig`` fields (4 envs of 100 steps unless given)."""

    def make(
        *,
        answers: dict[str, list[dict[str, Any]]] | None = None,
        success: dict[str, float] | None = None,
        learner: dict[str, Any] | None = None,
        **settings: Any,
    ) -> Loop:
        with sqlite_db.session() as s:
            exp_id = runs.create_experiment(
                s, name=f"nodes-{next(_names)}", planner_backend="scripted"
            ).id
        recorder = DatabaseRecorder(sqlite_db, exp_id)
        backend = ScriptedBackend(answers=answers or {})
        store = FakeLearnerStore(
            tmp_path / f"learner-{exp_id}",
            LearnerConfig(**{"num_envs": 4, "episode_steps": 100, **(learner or {})}),
        )
        executor = FakeExecutor(success=success or {})
        ctx = Context(
            db=sqlite_db, experiment_id=exp_id, settings=LoopSettings.model_validate(settings),
            planner=Planner(backend, recorder=recorder), recorder=recorder,
            learners=store,
            executor=executor,
        )  # fmt: skip
        # The planner is shown the scene; rendering it needs the arena, which no node does.
        ctx.scene_image = Image(name="scene.png", png=b"\x89PNG not rendered")
        return Loop(ctx=ctx, store=store, executor=executor, backend=backend)

    return make
