"""Reading back an experiment's records a page at a time, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from storage import Database, artifacts, commands, decisions, metrics, proposals, runs
from storage.commands import enqueue_command


def test_pages_are_newest_first_and_series_are_read_by_index(db: Database) -> None:
    assert db.artifacts is not None
    with db.session() as s:
        a = runs.create_experiment(s, name="a", planner_backend="offline").id
        b = runs.create_experiment(s, name="b", planner_backend="offline").id
        for _ in range(3):
            runs.start_iteration(s, experiment_id=a)
        for step in range(0, 1000, 10):
            metrics.record_metrics(
                s, experiment_id=a, step=step, values={"loss": step, "alpha": 1.0}
            )
        png = artifacts.save_artifact(s, store=db.artifacts, data=b"png", media_type="image/png")
        d1 = decisions.record_decision(s, kind="analyze", backend="x", prompt="p", valid=True,
                                       images=[png.sha256, png.sha256])  # fmt: skip
        d2 = decisions.record_decision(s, kind="propose", backend="x", prompt="p", error="429")
        d3 = decisions.record_decision(s, kind="propose", backend="x", prompt="p", cache_hit=True,
                                       valid=True)  # fmt: skip
        t1 = proposals.record_task(s, spec=None, spec_hash=None, instruction="x", experiment_id=a)
        two = [{"spec": {}, "instruction": "s1"}, {"spec": {}, "instruction": "s2"}]
        proposals.record_decomposition(s, task_id=t1.id, steps=two)
        proposals.record_task(s, spec=None, spec_hash=None, instruction="y", status="rejected")
        enqueue_command(s, kind="approve", payload={"task_id": t1.id}, experiment_id=a)
        enqueue_command(s, kind="pause", experiment_id=b)
    with db.reader() as s:
        assert [e.name for e in runs.list_experiments(s, newest_first=True)] == ["b", "a"]
        assert [e.name for e in runs.list_experiments(s, newest_first=True, before_id=b)] == ["a"]
        assert [i.number for i in runs.list_iterations(s, experiment_id=a, limit=2)] == [3, 2]
        assert runs.latest_iterations(s, experiment_ids=[a, b])[a].number == 3
        assert metrics.metric_names(s, experiment_id=a) == ["alpha", "loss"]
        assert metrics.latest_metric(s, experiment_id=a, name="loss") == (990, 990.0)
        assert metrics.metric_points(s, experiment_id=a, name="loss", after_step=20, limit=2) == [
            (30, 30.0), (40, 40.0),
        ]  # fmt: skip
        reduced = metrics.downsampled_series(s, experiment_id=a, name="loss", max_points=10)
        assert 5 <= len(reduced) <= 10 and reduced[0][0] == 0
        assert [v for _, v in reduced] == sorted(v for _, v in reduced)  # means of buckets

        def newest(**filters: Any) -> list[int]:
            return [d.id for d in decisions.list_decisions(s, newest_first=True, **filters)]

        assert newest(outcome="error") == [d2.id]
        assert newest(outcome="cached") == [d3.id]
        assert newest(kind="propose") == [d3.id, d2.id]
        assert newest(outcome="valid", before_id=d3.id) == [d1.id]
        assert decisions.images_of(s, decision_ids=[d1.id, d2.id]) == {
            d1.id: [png.sha256, png.sha256], d2.id: [],
        }  # fmt: skip
        assert decisions.decision_kinds(s) == ["analyze", "propose"]
        waiting = proposals.list_tasks(s, status="proposed", newest_first=True)
        assert [t.instruction for t in waiting] == ["x"]
        steps = proposals.decomposition_steps(s, task_ids=[t1.id])[t1.id]
        assert [st.instruction for st in steps] == ["s1", "s2"]
        assert [c.kind for c in commands.list_commands(s, kinds=["approve"])] == ["approve"]
        assert [c.kind for c in commands.list_commands(s, experiment_id=b)] == ["pause"]
        assert artifacts.get_artifact(s, sha256=png.sha256).media_type == "image/png"  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="allowed: valid, invalid, error, cached"):
            decisions.list_decisions(s, outcome="great", newest_first=True)
        with pytest.raises(LookupError, match="no decision with id 999"):
            decisions.get_decision(s, decision_id=999)
        with pytest.raises(ValueError, match="limit must be between 1 and 1000"):
            runs.list_experiments(s, newest_first=True, limit=0)
