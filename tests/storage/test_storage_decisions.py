"""Reading planner decisions back: filters, order, paging and their images."""

from __future__ import annotations

import pytest

from storage import Database, artifacts, decisions, runs


def test_decisions_are_listed_oldest_first_with_filters_and_images(db: Database) -> None:
    assert db.artifacts is not None
    with db.session() as s:
        exp = runs.create_experiment(s, name="e", planner_backend="gemini")
        other = runs.create_experiment(s, name="f", planner_backend="offline")
        a = artifacts.save_artifact(s, store=db.artifacts, data=b"curves", media_type="image/png")
        b = artifacts.save_artifact(s, store=db.artifacts, data=b"scene", media_type="image/png")
        ids = [
            decisions.record_decision(
                s, kind=kind, backend="gemini", prompt=f"q{i}", response="{}", valid=valid,
                images=[b.sha256, a.sha256] if i == 0 else [], experiment_id=exp.id,
            ).id
            for i, (kind, valid) in enumerate(
                [("analyze", True), ("propose", False), ("propose", True), ("decompose", True)]
            )
        ]  # fmt: skip
        decisions.record_decision(
            s, kind="propose", backend="offline", prompt="x", experiment_id=other.id
        )
    with db.reader() as s:
        listed = decisions.list_decisions(s, experiment_id=exp.id)
        assert [d.id for d in listed] == ids
        assert [
            d.id for d in decisions.list_decisions(s, experiment_id=exp.id, kind="propose")
        ] == [
            ids[1],
            ids[2],
        ]
        valid = decisions.list_decisions(
            s, experiment_id=exp.id, outcome="valid", after_id=ids[0], limit=1
        )
        assert [d.id for d in valid] == [ids[2]]
        assert len(decisions.list_decisions(s)) == 5
        assert decisions.images_of(s, decision_ids=[ids[0]])[ids[0]] == [b.sha256, a.sha256]
        assert decisions.images_of(s, decision_ids=[ids[1]])[ids[1]] == []
        with pytest.raises(ValueError, match="limit must be at least 1"):
            decisions.list_decisions(s, limit=0)
