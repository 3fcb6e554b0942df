"""Collected episodes read back in the order their transitions were stored."""

from __future__ import annotations

from storage import Database, episodes, runs


def test_collected_episodes_come_by_round_then_copy_with_their_label(db: Database) -> None:
    with db.session() as s:
        exp = runs.create_experiment(s, name="e", planner_backend="offline")
        other = runs.create_experiment(s, name="other", planner_backend="offline")
        common = {"steps": 20, "total_return": 1.5, "success": False}
        later = episodes.record_episode(
            s, experiment_id=exp.id, env_step=80, purpose="collect:demo", **common
        )
        first = [
            episodes.record_episode(
                s, experiment_id=exp.id, env_step=0, purpose="collect:policy", **common
            )
            for _ in range(2)
        ]
        old = episodes.record_episode(s, experiment_id=exp.id, purpose="collect", **common)
        episodes.record_episode(s, experiment_id=exp.id, env_step=0, purpose="evaluate", **common)
        episodes.record_episode(s, experiment_id=other.id, env_step=0, purpose="collect:chain",
                                **common)  # fmt: skip
    with db.reader() as s:
        rows = episodes.collected_episodes(s, experiment_id=exp.id)
    # A row without a round sorts first on SQLite and last on PostgreSQL: either way apart.
    placed = [r for r in rows if r.env_step is not None]
    assert [(r.id, r.env_step, r.label) for r in placed] == [
        (first[0].id, 0, "policy"), (first[1].id, 0, "policy"), (later.id, 80, "demo"),
    ]  # fmt: skip
    assert [(r.id, r.label) for r in rows if r.env_step is None] == [(old.id, "")]
    assert rows[0].steps == 20 and rows[0].total_return == 1.5 and rows[0].success is False
