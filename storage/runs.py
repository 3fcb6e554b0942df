"""Experiments and their iterations, as keyword-only functions (the daemon holds no SQL).

An experiment has its settings, goal and budgets, a status with the reason it ended, and a
heartbeat; an iteration is one pass of the loop, numbered from 1, open until it finishes.
Every function works inside the caller's transaction (``Database.session()`` to write,
``Database.reader()`` to read). The other records of a run have rooms of their own:
``metrics``, ``decisions``, ``proposals`` (tasks and decompositions), ``episodes`` (and
checkpoints), ``artifacts`` and ``commands``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.enums import ExperimentStatus
from storage.models import Experiment, Iteration
from storage.pages import check_limit
from storage.types import utcnow


def create_experiment(
    session: Session,
    *,
    name: str,
    planner_backend: str,
    config: Mapping[str, Any] | None = None,
    goal: str | None = None,
    goal_spec: Mapping[str, Any] | None = None,
    budgets: Mapping[str, Any] | None = None,
) -> Experiment:
    """A new experiment (status ``created``); ``name`` must be unused."""
    if session.scalar(select(Experiment.id).where(Experiment.name == name)) is not None:
        raise ValueError(f"an experiment named {name!r} exists already; pick another name")
    exp = Experiment(
        name=name,
        planner_backend=planner_backend,
        config=dict(config or {}),
        goal=goal,
        goal_spec=dict(goal_spec) if goal_spec is not None else None,
        budgets=dict(budgets or {}),
    )
    session.add(exp)
    session.flush()
    return exp


def get_experiment(session: Session, *, experiment_id: int) -> Experiment:
    """Experiment ``experiment_id``; ``LookupError`` if there is none."""
    exp = session.get(Experiment, experiment_id)
    if exp is None:
        raise LookupError(f"no experiment with id {experiment_id}")
    return exp


def find_experiment(session: Session, *, name: str) -> Experiment | None:
    """The experiment named ``name``, or ``None``."""
    return session.scalar(select(Experiment).where(Experiment.name == name))


def list_experiments(
    session: Session,
    *,
    newest_first: bool = False,
    before_id: int | None = None,
    limit: int | None = None,
) -> list[Experiment]:
    """Experiments, oldest first (newest first with ``newest_first``), with ids below
    ``before_id``: every one, or at most ``limit``."""
    query = select(Experiment)
    if before_id is not None:
        query = query.where(Experiment.id < before_id)
    query = query.order_by(Experiment.id.desc() if newest_first else Experiment.id)
    if limit is not None:
        check_limit(limit)
        query = query.limit(limit)
    return list(session.scalars(query))


def update_experiment(
    session: Session,
    *,
    experiment_id: int,
    budgets: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    goal: str | None = None,
    goal_spec: Mapping[str, Any] | None = None,
) -> Experiment:
    """Replace an experiment's budgets, configuration and/or goal (given ones only)."""
    exp = get_experiment(session, experiment_id=experiment_id)
    if goal is not None:
        exp.goal, exp.goal_spec = goal, dict(goal_spec) if goal_spec is not None else None
    if budgets is not None:
        exp.budgets = dict(budgets)
    if config is not None:
        exp.config = dict(config)
    session.flush()
    return exp


def set_experiment_status(
    session: Session,
    *,
    experiment_id: int,
    status: ExperimentStatus | str,
    reason: str | None = None,
) -> Experiment:
    """Change an experiment's status (finished/failed/stopped also set ``finished_at`` and
    record ``reason``, why the daemon ended; running clears it)."""
    value = ExperimentStatus(status)
    exp = get_experiment(session, experiment_id=experiment_id)
    exp.status = value.value
    if value == ExperimentStatus.RUNNING:
        exp.stop_reason = None
    if value in (ExperimentStatus.FINISHED, ExperimentStatus.FAILED, ExperimentStatus.STOPPED):
        exp.finished_at = utcnow()
        exp.stop_reason = reason
    session.flush()
    return exp


def heartbeat(
    session: Session,
    *,
    experiment_id: int,
    env_steps: int | None = None,
    wall_seconds: float | None = None,
    dollars: float | None = None,
) -> None:
    """Mark the experiment alive now, with its budgets used so far (totals, not deltas)."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if env_steps is not None:
        values["env_steps_used"] = env_steps
    if wall_seconds is not None:
        values["wall_seconds_used"] = wall_seconds
    if dollars is not None:
        values["dollars_used"] = dollars
    session.execute(update(Experiment).where(Experiment.id == experiment_id).values(**values))


def start_iteration(session: Session, *, experiment_id: int) -> Iteration:
    """The experiment's next iteration (numbered from 1)."""
    last = session.scalar(
        select(Iteration.number)
        .where(Iteration.experiment_id == experiment_id)
        .order_by(Iteration.number.desc())
        .limit(1)
    )
    it = Iteration(experiment_id=experiment_id, number=(last or 0) + 1)
    session.add(it)
    session.flush()
    return it


def finish_iteration(
    session: Session,
    *,
    iteration_id: int,
    env_steps: int,
    summary: Mapping[str, Any] | None = None,
    status: str = "done",
) -> Iteration:
    """Close an iteration with the experiment's env steps so far and a summary."""
    it = session.get(Iteration, iteration_id)
    if it is None:
        raise LookupError(f"no iteration with id {iteration_id}")
    it.status, it.env_steps, it.finished_at = status, env_steps, utcnow()
    it.summary = dict(summary or {})
    session.flush()
    return it


def current_iteration(session: Session, *, experiment_id: int) -> Iteration | None:
    """The experiment's newest iteration if it is still running (not finished), else None.

    A daemon restarted after a crash continues this iteration instead of numbering a new one.
    """
    it = session.scalar(
        select(Iteration)
        .where(Iteration.experiment_id == experiment_id)
        .order_by(Iteration.number.desc())
        .limit(1)
    )
    return it if it is not None and it.finished_at is None else None


def count_iterations(session: Session, *, experiment_id: int, finished: bool = True) -> int:
    """How many iterations the experiment has (only finished ones by default)."""
    query = select(func.count(Iteration.id)).where(Iteration.experiment_id == experiment_id)
    if finished:
        query = query.where(Iteration.finished_at.is_not(None))
    return int(session.scalar(query) or 0)


def list_iterations(
    session: Session, *, experiment_id: int, limit: int = 100, before_number: int | None = None
) -> list[Iteration]:
    """An experiment's iterations, newest first (the first is the current one), at most
    ``limit`` numbered below ``before_number``."""
    check_limit(limit)
    query = select(Iteration).where(Iteration.experiment_id == experiment_id)
    if before_number is not None:
        query = query.where(Iteration.number < before_number)
    return list(session.scalars(query.order_by(Iteration.number.desc()).limit(limit)))


def latest_iterations(session: Session, *, experiment_ids: Sequence[int]) -> dict[int, Iteration]:
    """The newest iteration of each experiment (experiments without one are left out)."""
    if not experiment_ids:
        return {}
    newest = (
        select(Iteration.experiment_id, func.max(Iteration.number).label("number"))
        .where(Iteration.experiment_id.in_(list(experiment_ids)))
        .group_by(Iteration.experiment_id)
        .subquery()
    )
    rows = session.scalars(
        select(Iteration).join(
            newest,
            (Iteration.experiment_id == newest.c.experiment_id)
            & (Iteration.number == newest.c.number),
        )
    )
    return {it.experiment_id: it for it in rows}


STALE_AFTER_S = 120.0
"""A running or paused experiment whose newest heartbeat is older than this (seconds) has no
daemon behind it any more: it crashed or was killed (a daemon beats every 10 s)."""


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def experiment_state(
    exp: Experiment, *, stale_after: float = STALE_AFTER_S, now: datetime | None = None
) -> tuple[bool, str]:
    """``(stale, text)``: the experiment's status as a person should read it.

    A running or paused experiment whose heartbeat (or, before the first one, whose creation)
    is older than ``stale_after`` seconds reads ``stale (no heartbeat for 5 min; ...)``;
    any other reads its stored status.
    """
    if exp.status not in (ExperimentStatus.RUNNING.value, ExperimentStatus.PAUSED.value):
        return False, exp.status
    last = exp.heartbeat_at or exp.created_at
    if last is None:
        return False, exp.status
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    silent = ((now or datetime.now(UTC)) - last).total_seconds()
    if silent <= stale_after:
        return False, exp.status
    return True, (
        f"stale (no heartbeat for {_duration(silent)}; the daemon may have crashed: "
        "run the same command again to resume)"
    )
