"""The goal is read once, where it is given (``experimenter run --goal``, the dashboard), and
travels as read: the daemon, the loop's stop test and the planner's prompt never read the
words again, and a goal command is acted on as the dashboard read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tasks.read
from controllers.learner import LearnerConfig
from experimenter.commands_run import Run
from experimenter.daemon import Daemon
from experimenter.executor import InProcessExecutor
from experimenter.graph.context import Context
from experimenter.graph.routers import stop_reason
from experimenter.graph.state import LoopState
from experimenter.learner_store import LearnerStore
from experimenter.planner import DatabaseRecorder, Planner, PlannerSettings, ProposeInput
from experimenter.planner.prompts import render_propose
from settings import LoopSettings
from skills.goals import goal_payload, read_goal
from storage import Database, commands, runs
from tasks import Goal

GREEN = {"stages": [{"all": [{"pred": "reach", "args": ["green"]}]}], "constraints": []}


def daemon(db: Database, tmp_path: Path, settings: LoopSettings) -> Daemon:
    return Daemon(
        db, home=tmp_path, name="goal", settings=settings,
        planner_settings=PlannerSettings(backend="offline"), progress=False,
    )  # fmt: skip


def attach_context(d: Daemon, db: Database, tmp_path: Path) -> Context:
    """The loop's context, as ``Daemon._run`` builds it (without running the graph)."""
    recorder = DatabaseRecorder(db, d.experiment_id)
    d.context = Context(
        db=db, experiment_id=d.experiment_id, settings=d.settings,
        planner=Planner.from_settings(PlannerSettings(), recorder=recorder), recorder=recorder,
        learners=LearnerStore(tmp_path / "learner", LearnerConfig()),
        executor=InProcessExecutor(),
    )  # fmt: skip
    return d.context


def test_the_run_command_reads_the_goal_once_and_nothing_downstream_reads_it_again(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = Run(goal="  put the red block on top of the blue block ").checked()
    goal = settings.goal
    assert goal is not None and goal.text == "put the red block on top of the blue block"
    assert goal.instruction == "stack the red block on the blue block"
    assert goal.spec == goal.spec.canonical()

    def read_again(*_: Any) -> Any:
        raise AssertionError("the goal was read again")

    monkeypatch.setattr(tasks.read, "as_task", read_again)
    d = daemon(sqlite_db, tmp_path, settings)
    with sqlite_db.reader() as s:
        exp = runs.get_experiment(s, experiment_id=d.experiment_id)
        assert exp.goal == goal.text
        assert exp.goal_spec == goal.spec.model_dump(mode="json", exclude_none=True)
    ctx = attach_context(d, sqlite_db, tmp_path)
    assert ctx.settings.goal == goal and ctx.goal == goal.spec
    assert stop_reason(ctx, LoopState()) is None  # the goal's skill is not learned yet
    prompt = render_propose(
        ProposeInput(
            objects=list(ctx.layout.object_names),
            goal=goal.spec,
            goal_instruction=goal.text,
        )
    )
    assert '"put the red block on top of the blue block" {"constraints":[]' in prompt
    # Continued by a later run (no --goal): the stored goal, as it was read.
    assert daemon(sqlite_db, tmp_path, LoopSettings()).settings.goal == goal


def test_a_goal_command_is_acted_on_as_the_dashboard_read_it(
    sqlite_db: Database, tmp_path: Path
) -> None:
    d = daemon(sqlite_db, tmp_path, LoopSettings(goal="reach the red block"))
    ctx = attach_context(d, sqlite_db, tmp_path)
    # Words of the person's own that the instruction parser does not know: the daemon acts
    # on the spec the command carries, never on the words.
    new = Goal(text="the green one, please", spec=GREEN)
    with sqlite_db.session() as s:
        commands.enqueue_command(
            s, kind="goal", payload=goal_payload(new), experiment_id=d.experiment_id
        )
    assert d._control() == ["goal"]
    with sqlite_db.reader() as s:
        (cmd,) = commands.list_commands(s)
        assert cmd.error is None and cmd.result == {"goal": "the green one, please"}
        exp = runs.get_experiment(s, experiment_id=d.experiment_id)
        assert exp.goal == "the green one, please" and exp.goal_spec == GREEN
        assert LoopSettings.model_validate(exp.config).goal == new
    assert d.settings.goal == new
    assert ctx.settings.goal == new and ctx.goal == new.spec  # the loop follows it


def test_a_goal_command_without_the_goal_as_read_is_refused(
    sqlite_db: Database, tmp_path: Path
) -> None:
    d = daemon(sqlite_db, tmp_path, LoopSettings(goal="reach the red block"))
    ctx = attach_context(d, sqlite_db, tmp_path)
    before = d.settings.goal
    with sqlite_db.session() as s:
        commands.enqueue_command(
            s, kind="goal", payload={"goal": "reach the green block"},
            experiment_id=d.experiment_id,
        )  # fmt: skip
    assert d._control() == ["goal"]
    with sqlite_db.reader() as s:
        (cmd,) = commands.list_commands(s)
        assert cmd.error is not None and "spec" in cmd.error
        assert runs.get_experiment(s, experiment_id=d.experiment_id).goal == "reach the red block"
    assert d.settings.goal == before and ctx.settings.goal == before


def test_an_experiment_stored_with_its_goal_as_text_resumes_with_it_read(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Configurations stored before goals were kept as read hold the words alone."""
    with sqlite_db.session() as s:
        runs.create_experiment(
            s, name="goal", planner_backend="offline", goal="reach the green block",
            config={"goal": "reach the green block", "max_training": 1},
        )  # fmt: skip
    d = daemon(sqlite_db, tmp_path, LoopSettings())
    assert d.settings.goal == read_goal("reach the green block")
    assert d.settings.max_training == 1
    with pytest.raises(ValueError, match="has goal 'reach the green block', not 'reach the red"):
        daemon(sqlite_db, tmp_path, LoopSettings(goal="reach the red block"))
