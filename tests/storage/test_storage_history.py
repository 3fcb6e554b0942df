"""Reading back an experiment's records a page at a time, on both databases."""

from __future__ import annotations

import pytest

from storage import Database, history, runs
from storage.commands import enqueue_command


def test_pages_are_newest_first_and_series_are_read_by_index(db: Database) -> None:
    assert db.artifacts is not None
    with db.session() as s:
        a = runs.create_experiment(s, name="a", planner_backend="offline").id
        b = runs.create_experiment(s, name="b", planner_backend="offline").id
        for _ in range(3):
            runs.start_iteration(s, experiment_id=a)
        for step in range(0, 1000, 10):
            runs.record_metrics(s, experiment_id=a, step=step, values={"loss": step, "alpha": 1.0})
        png = runs.save_artifact(s, store=db.artifacts, data=b"png", media_type="image/png")
        d1 = runs.record_decision(s, kind="analyze", backend="x", prompt="p", valid=True,
                                  images=[png.sha256, png.sha256])  # fmt: skip
        d2 = runs.record_decision(s, kind="propose", backend="x", prompt="p", error="429")
        d3 = runs.record_decision(s, kind="propose", backend="x", prompt="p", cache_hit=True,
                                  valid=True)  # fmt: skip
        t1 = runs.record_task(s, spec=None, spec_hash=None, instruction="x", experiment_id=a)
        two = [{"spec": {}, "instruction": "s1"}, {"spec": {}, "instruction": "s2"}]
        runs.record_decomposition(s, task_id=t1.id, steps=two)
        runs.record_task(s, spec=None, spec_hash=None, instruction="y", status="rejected")
        enqueue_command(s, kind="approve", payload={"task_id": t1.id}, experiment_id=a)
        enqueue_command(s, kind="pause", experiment_id=b)
    with db.reader() as s:
        assert [e.name for e in history.list_experiments(s)] == ["b", "a"]
        assert [e.name for e in history.list_experiments(s, before_id=b)] == ["a"]
        assert [i.number for i in history.list_iterations(s, experiment_id=a, limit=2)] == [3, 2]
        assert history.latest_iterations(s, experiment_ids=[a, b])[a].number == 3
        assert history.metric_names(s, experiment_id=a) == ["alpha", "loss"]
        assert history.latest_metric(s, experiment_id=a, name="loss") == (990, 990.0)
        assert history.metric_points(s, experiment_id=a, name="loss", after_step=20, limit=2) == [
            (30, 30.0), (40, 40.0),
        ]  # fmt: skip
        reduced = history.downsampled_series(s, experiment_id=a, name="loss", max_points=10)
        assert 5 <= len(reduced) <= 10 and reduced[0][0] == 0
        assert [v for _, v in reduced] == sorted(v for _, v in reduced)  # means of buckets
        assert [d.id for d in history.decision_page(s, outcome="error")] == [d2.id]
        assert [d.id for d in history.decision_page(s, outcome="cached")] == [d3.id]
        assert [d.id for d in history.decision_page(s, kind="propose")] == [d3.id, d2.id]
        assert [d.id for d in history.decision_page(s, outcome="valid", before_id=d3.id)] == [d1.id]
        assert history.images_of(s, decision_ids=[d1.id, d2.id]) == {
            d1.id: [png.sha256, png.sha256], d2.id: [],
        }  # fmt: skip
        assert history.decision_kinds(s) == ["analyze", "propose"]
        assert [t.instruction for t in history.list_tasks(s, status="proposed")] == ["x"]
        steps = history.decomposition_steps(s, task_ids=[t1.id])[t1.id]
        assert [st.instruction for st in steps] == ["s1", "s2"]
        assert [c.kind for c in history.list_commands(s, kinds=["approve"])] == ["approve"]
        assert [c.kind for c in history.list_commands(s, experiment_id=b)] == ["pause"]
        assert history.get_artifact(s, sha256=png.sha256).media_type == "image/png"  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="allowed: valid, invalid, error, cached"):
            history.decision_page(s, outcome="great")
        with pytest.raises(LookupError, match="no decision with id 999"):
            history.get_decision(s, decision_id=999)
        with pytest.raises(ValueError, match="limit must be between 1 and 1000"):
            history.list_experiments(s, limit=0)
