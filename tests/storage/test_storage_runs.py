"""What the daemon records about an experiment, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import Database, artifacts, decisions, episodes, metrics, proposals, runs
from storage.models import DecisionImage, DecompositionStep, Experiment


def test_an_experiment_records_iterations_metrics_decisions_and_checkpoints(
    db: Database,
) -> None:
    assert db.artifacts is not None
    with db.session() as s:
        exp = runs.create_experiment(
            s, name="stack", planner_backend="offline", goal="stack red on blue",
            budgets={"env_steps": 1_000_000},
        )  # fmt: skip
        it = runs.start_iteration(s, experiment_id=exp.id)
        metrics.record_metrics(s, experiment_id=exp.id, step=100, values={"loss": 1.5, "ret": 0.1})
        metrics.record_metrics(s, experiment_id=exp.id, step=200, values={"loss": 0.9})
        png = artifacts.save_artifact(s, store=db.artifacts, data=b"png", media_type="image/png")
        assert artifacts.save_artifact(s, store=db.artifacts, data=b"png").sha256 == png.sha256
        decision = decisions.record_decision(
            s, kind="analyze", backend="offline", prompt="how is it going?", response="{}",
            valid=True, tokens_in=10, tokens_out=3, images=[png.sha256], experiment_id=exp.id,
            iteration_id=it.id,
        )  # fmt: skip
        task = proposals.record_task(
            s, spec={"stages": []}, spec_hash=None, instruction="stack", reason="the goal",
            decision_id=decision.id, experiment_id=exp.id,
        )  # fmt: skip
        proposals.record_decomposition(
            s, task_id=task.id,
            steps=[{"spec": {}, "instruction": "grasp the red block", "matched_existing": True},
                   {"spec": {}, "instruction": "stack the red block on the blue block"}],
        )  # fmt: skip
        proposals.set_task_status(s, task_id=task.id, status="accepted")
        ckpt = artifacts.save_artifact(s, store=db.artifacts, data=b"weights")
        episodes.record_checkpoint(
            s, experiment_id=exp.id, artifact_sha256=ckpt.sha256, env_steps=200
        )
        episodes.record_episode(s, steps=50, total_return=3.2, success=True, experiment_id=exp.id)
        runs.finish_iteration(s, iteration_id=it.id, env_steps=200, summary={"learned": 0})
        runs.heartbeat(s, experiment_id=exp.id, env_steps=200, dollars=0.01)
        assert runs.start_iteration(s, experiment_id=exp.id).number == 2
    with db.reader() as s:
        assert metrics.metric_points(s, experiment_id=exp.id, name="loss") == [
            (100, 1.5),
            (200, 0.9),
        ]
        latest = episodes.latest_checkpoint(s, experiment_id=exp.id)
        assert latest is not None and db.artifacts.get(latest.artifact_sha256) == b"weights"
        got = s.get(Experiment, exp.id)
        assert got is not None and got.env_steps_used == 200 and got.heartbeat_at is not None
        assert s.scalars(select(DecisionImage.artifact_sha256)).all() == [png.sha256]
        steps = s.scalars(select(DecompositionStep).order_by(DecompositionStep.position)).all()
        assert [st.matched_existing for st in steps] == [True, False]


def test_experiment_names_are_unique(db: Database) -> None:
    with db.session() as s:
        runs.create_experiment(s, name="a", planner_backend="offline")
    with pytest.raises(ValueError, match="exists already"), db.session() as s:
        runs.create_experiment(s, name="a", planner_backend="gemini")
