"""Review mode and steering through the commands table: a proposal waits for a person's
``experimenter approve``; ``pause``, ``resume`` and ``stop`` reach the running daemon."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_helpers import SMALL, cli, db, start, wait_for
from sqlalchemy import select

from experimenter.status import graph_position
from skills.goals import goal_payload, read_goal
from storage import commands, decisions, episodes, proposals, runs
from storage.models import SkillStatusChange

pytestmark = pytest.mark.slow


def test_review_approve_pause_resume_stop(tmp_path: Path) -> None:
    home = tmp_path / "data"
    # A goal bar no finite evaluation can clear (the Wilson lower bound stays under 100 %):
    # the run must still be going when the commands arrive, however fast the learner is.
    proc = start(
        home, "--review", "--goal", "reach the red block", "--seed-skills", "none",
        "--goal-threshold", "1", "--max-training", "1", "--collect-steps", "160",
        "--max-env-steps", "100000", *SMALL,
    )  # fmt: skip
    wait_for(lambda: (home / "experimenter.db").exists(), 60, proc)
    database = db(home)

    def waiting() -> list[int]:
        with database.reader() as s:
            return [t.id for t in proposals.list_tasks(s, experiment_id=1, status="proposed")]

    wait_for(lambda: bool(waiting()), 60, proc)
    wait_for(lambda: graph_position(database, home, 1).get("node") == "decompose", 60, proc)
    (task_id,) = waiting()
    # Nothing trains while the proposal waits.
    with database.reader() as s:
        assert episodes.count_episodes(s, experiment_id=1) == 0
    sent = cli(home, "approve", str(task_id), "--reason", "looks right")
    assert sent.returncode == 0, sent.stderr
    wait_for(lambda: graph_position(database, home, 1).get("node") == "evaluate", 120, proc)

    assert cli(home, "pause").returncode == 0

    def status() -> str:
        with database.reader() as s:
            return runs.get_experiment(s, experiment_id=1).status

    wait_for(lambda: status() == "paused", 60, proc)
    assert cli(home, "resume").returncode == 0
    wait_for(lambda: status() == "running", 60, proc)
    # A new goal from the dashboard (the commands table, carrying the goal as the dashboard
    # read it) reaches the running daemon.
    with database.session() as s:
        commands.enqueue_command(
            s, kind="goal", payload=goal_payload(read_goal("reach the green block")),
            experiment_id=1,
        )  # fmt: skip

    def goal() -> str | None:
        with database.reader() as s:
            return runs.get_experiment(s, experiment_id=1).goal

    wait_for(lambda: goal() == "reach the green block", 60, proc)
    assert cli(home, "stop").returncode == 0
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "stopped: stop command" in out

    with database.reader() as s:
        task = proposals.get_task(s, task_id=task_id)
        assert task.status == "accepted" and "approved by person: looks right" in task.verdict
        changes = list(
            s.scalars(select(SkillStatusChange).where(SkillStatusChange.to_status == "training"))
        )
        assert [c.decided_by for c in changes] == ["person"]
        assert runs.get_experiment(s, experiment_id=1).status == "stopped"
    bad = cli(home, "approve", "1", "--experiment", "nope")
    assert bad.returncode == 2 and "no experiment named 'nope'" in bad.stderr
    database.dispose()


def test_spent_planner_budget_finishes_the_experiment(tmp_path: Path, monkeypatch) -> None:
    from experimenter.cli import main

    monkeypatch.setenv("EXPERIMENTER_PLANNER_MAX_CALLS", "0")  # nothing may be sent
    monkeypatch.setenv("EXPERIMENTER_PLANNER_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    home = tmp_path / "data"
    args = ["run", "--data-dir", str(home), "--planner", "openai", "--seed-skills", "none", *SMALL]
    assert main(args) == 0
    database = db(home)
    with database.reader() as s:
        assert runs.get_experiment(s, experiment_id=1).status == "finished"
        (refused,) = decisions.list_decisions(s, experiment_id=1)
        assert refused.kind == "propose" and "budget spent" in (refused.error or "")
    assert graph_position(database, home, 1)["stop_reason"].startswith("planner call budget")
    database.dispose()
