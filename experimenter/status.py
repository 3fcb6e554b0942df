"""Where each experiment stands, for ``experimenter status`` (and anyone else reading)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import skills
from storage import Database, runs


def graph_position(db: Database, home: Path, experiment_id: int) -> dict[str, Any]:
    """The last completed node and iteration from LangGraph's checkpoint (empty if none)."""
    from experimenter.daemon import GRAPH_DB, checkpointer
    from experimenter.graph.graph import thread_config

    if db.dialect != "postgresql" and not (home / GRAPH_DB).exists():
        return {}
    try:
        with checkpointer(db, home) as saver:
            found = saver.get_tuple(thread_config(experiment_id))
    except sqlite3.Error:
        return {}
    if found is None:
        return {}
    values: dict[str, Any] = found.checkpoint.get("channel_values", {})
    return values


def experiment_status(db: Database, *, home: Path) -> list[dict[str, Any]]:
    """One JSON-ready row per experiment."""
    from experimenter.lock import ExperimentLock

    out: list[dict[str, Any]] = []
    with db.reader() as s:
        experiments = runs.list_experiments(s)
        for exp in experiments:
            counts = {st.value: 0 for st in skills.SkillStatus}
            for k in skills.list_skills(s, experiment_id=exp.id, limit=10_000):
                counts[k.status] += 1
            out.append(
                {
                    "id": exp.id,
                    "name": exp.name,
                    "status": exp.status,
                    "goal": exp.goal,
                    "planner": exp.planner_backend,
                    "iterations": runs.count_iterations(s, experiment_id=exp.id),
                    "skills": counts,
                    "env_steps": exp.env_steps_used,
                    "wall_seconds": exp.wall_seconds_used,
                    "dollars": exp.dollars_used,
                    "budgets": exp.budgets,
                    "heartbeat_at": exp.heartbeat_at,
                }
            )
    for row in out:
        pos = graph_position(db, home, int(row["id"]))
        row["node"] = pos.get("node") or None
        row["stop_reason"] = pos.get("stop_reason")
        row["daemon"] = ExperimentLock(db, home, int(row["id"])).held_elsewhere()
    return out
