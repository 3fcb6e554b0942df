"""Where each experiment stands, for ``experimenter status`` (and anyone else reading)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import skills
from storage import Database, episodes, proposals, runs
from storage.enums import SkillStatus, TaskStatus


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
    """One JSON-ready row per experiment. ``status`` is the stored one; ``stale`` says that a
    running or paused experiment's daemon stopped beating (it crashed or was killed) and
    ``state`` says so in words (``runs.experiment_state``)."""
    from experimenter.lock import ExperimentLock
    from experimenter.planner.record import planner_spend

    out: list[dict[str, Any]] = []
    with db.reader() as s:
        experiments = runs.list_experiments(s)
        for exp in experiments:
            # The loop writes its dollars at iteration boundaries; the decisions rows have
            # every call's as soon as it is made.
            spent = planner_spend(s, experiment_id=exp.id)
            counts = {st.value: 0 for st in SkillStatus}
            training = []
            for k in skills.list_skills(s, experiment_id=exp.id, limit=10_000):
                counts[k.status] += 1
                if k.status == SkillStatus.TRAINING:
                    # The newest success and its Wilson 95 % lower bound: what promotion
                    # must clear.
                    training.append({
                        "id": k.id, "instruction": k.instruction, "success": k.success_rate,
                        "lower_bound": k.success_lower,
                    })  # fmt: skip
            stale, state = runs.experiment_state(exp)
            out.append(
                {
                    "id": exp.id,
                    "name": exp.name,
                    "status": exp.status,
                    "stale": stale,
                    "state": state,
                    "goal": exp.goal,
                    "planner": exp.planner_backend,
                    "iterations": runs.count_iterations(s, experiment_id=exp.id),
                    "skills": counts,
                    "training": training,
                    "proposals_waiting": len(
                        proposals.list_tasks(s, experiment_id=exp.id, status=TaskStatus.PROPOSED)
                    ),
                    "env_steps": exp.env_steps_used,
                    "wall_seconds": exp.wall_seconds_used,
                    "dollars": max(exp.dollars_used or 0.0, spent.dollars),
                    "planner_calls": spent.calls,
                    "planner_tokens": spent.tokens,
                    "budgets": exp.budgets,
                    "heartbeat_at": exp.heartbeat_at,
                    "recorded_stop": exp.stop_reason,
                    "workers": [
                        {**w._asdict(), "node": w.node, "actor": w.actor}
                        for w in episodes.worker_shares(s, experiment_id=exp.id)
                    ],
                }
            )
    for row in out:
        pos = graph_position(db, home, int(row["id"]))
        row["node"] = pos.get("node") or None
        row["stop_reason"] = row.pop("recorded_stop") or pos.get("stop_reason")
        row["daemon"] = ExperimentLock(db, home, int(row["id"])).held_elsewhere()
    return out


def worker_lines(row: dict[str, Any]) -> list[str]:
    """``experimenter status``'s lines on who collected an experiment's episodes (a row of
    ``experiment_status``): one per worker under a heading, one line when the in-process
    executor did it all, none before anything was collected."""
    workers = row["workers"]
    if not workers:
        return []
    head = f"experiment {row['id']} ({row['name']}) workers:"
    if [w["worker"] for w in workers] == ["inprocess"]:
        w = workers[0]
        return [f"{head} in process only ({w['episodes']} episodes, {w['env_steps']} env steps)"]
    lines = [head]
    for w in workers:
        who = f"node {w['node']} actor {w['actor']}" if w["actor"] else f"{w['node']} (in process)"
        lines.append(
            f"  {who}: {w['episodes']} episodes, {w['env_steps']} env steps, "
            f"newest round at env step {w['last_env_step']}"
        )
    return lines
