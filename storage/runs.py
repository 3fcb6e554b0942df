"""Records of a running experiment, as keyword-only functions (the daemon holds no SQL).

Experiments with their budgets and heartbeat, iterations, metric series, planner decisions
(with the images shown), episodes, checkpoints, task proposals and their decompositions,
and artifact registration. Every function works inside the caller's transaction
(``Database.session()``) and returns the ORM row it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.artifacts import ArtifactStore
from storage.enums import DecidedBy, ExperimentStatus, TaskStatus
from storage.models import (
    Artifact,
    Checkpoint,
    Decision,
    DecisionImage,
    DecompositionStep,
    Episode,
    Experiment,
    Iteration,
    Metric,
    Task,
)
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


def record_metrics(
    session: Session,
    *,
    experiment_id: int,
    step: int,
    values: Mapping[str, float],
    iteration_id: int | None = None,
) -> None:
    """One point of each named series at ``step``."""
    session.add_all(
        Metric(
            experiment_id=experiment_id,
            iteration_id=iteration_id,
            name=name,
            step=step,
            value=float(v),
        )
        for name, v in values.items()
    )
    session.flush()


def metric_series(session: Session, *, experiment_id: int, name: str) -> list[tuple[int, float]]:
    """``(step, value)`` of a named series, in step order."""
    rows = session.execute(
        select(Metric.step, Metric.value)
        .where(Metric.experiment_id == experiment_id, Metric.name == name)
        .order_by(Metric.step, Metric.id)
    )
    return [(int(s), float(v)) for s, v in rows]


def save_artifact(
    session: Session,
    *,
    store: ArtifactStore,
    data: bytes,
    media_type: str = "application/octet-stream",
    name: str | None = None,
) -> Artifact:
    """Write ``data`` to the artifact store and register it (once per content)."""
    sha = store.put(data)
    row = session.get(Artifact, sha)
    if row is None:
        row = Artifact(sha256=sha, size=len(data), media_type=media_type, name=name)
        session.add(row)
        session.flush()
    return row


def record_decision(
    session: Session,
    *,
    kind: str,
    backend: str,
    prompt: str,
    model: str = "",
    response: str | None = None,
    parsed: Mapping[str, Any] | None = None,
    valid: bool = False,
    error: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    dollars: float = 0.0,
    latency_s: float = 0.0,
    cache_hit: bool = False,
    images: Sequence[str] = (),
    experiment_id: int | None = None,
    iteration_id: int | None = None,
) -> Decision:
    """One planner call; ``images`` are the sha256 of registered artifacts, in prompt order."""
    decision = Decision(
        kind=kind, backend=backend, model=model, prompt=prompt, response=response,
        parsed=dict(parsed) if parsed is not None else None, valid=valid, error=error,
        tokens_in=tokens_in, tokens_out=tokens_out, dollars=dollars, latency_s=latency_s,
        cache_hit=cache_hit, experiment_id=experiment_id, iteration_id=iteration_id,
    )  # fmt: skip
    session.add(decision)
    session.flush()
    session.add_all(
        DecisionImage(decision_id=decision.id, position=i, artifact_sha256=sha)
        for i, sha in enumerate(images)
    )
    session.flush()
    return decision


def list_decisions(
    session: Session,
    *,
    experiment_id: int | None = None,
    kind: str | None = None,
    valid: bool | None = None,
    after_id: int | None = None,
    limit: int = 1000,
) -> list[Decision]:
    """Planner decisions matching every filter, oldest first, at most ``limit`` after
    ``after_id`` (the replay backend's source, the dashboard's decision log)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = select(Decision)
    if experiment_id is not None:
        query = query.where(Decision.experiment_id == experiment_id)
    if kind is not None:
        query = query.where(Decision.kind == kind)
    if valid is not None:
        query = query.where(Decision.valid == valid)
    if after_id is not None:
        query = query.where(Decision.id > after_id)
    return list(session.scalars(query.order_by(Decision.id).limit(limit)))


def decision_images(session: Session, *, decision_id: int) -> list[str]:
    """The sha256 of the images shown in a decision, in prompt order."""
    rows = session.scalars(
        select(DecisionImage.artifact_sha256)
        .where(DecisionImage.decision_id == decision_id)
        .order_by(DecisionImage.position)
    )
    return list(rows)


def record_episode(
    session: Session,
    *,
    steps: int,
    total_return: float,
    success: bool,
    purpose: str = "collect",
    seed: int | None = None,
    skill_id: int | None = None,
    data_sha256: str | None = None,
    video_sha256: str | None = None,
    experiment_id: int | None = None,
    iteration_id: int | None = None,
    env_step: int | None = None,
) -> Episode:
    """One episode's metadata; its arrays and video are artifacts. ``env_step``: for a
    collected episode, the learner's env steps when its collection round began."""
    episode = Episode(
        steps=steps, total_return=total_return, success=success, purpose=purpose, seed=seed,
        skill_id=skill_id, data_sha256=data_sha256, video_sha256=video_sha256,
        experiment_id=experiment_id, iteration_id=iteration_id, env_step=env_step,
    )  # fmt: skip
    session.add(episode)
    session.flush()
    return episode


def discard_collected_episodes(session: Session, *, experiment_id: int, from_env_step: int) -> int:
    """Delete the experiment's collected episodes whose round began at or after
    ``from_env_step`` (rows of data the learner lost in a crash, about to be collected
    again); returns how many. Rows without ``env_step`` are kept."""
    result = session.execute(
        delete(Episode)
        .where(
            Episode.experiment_id == experiment_id,
            Episode.purpose.like("collect%"),
            Episode.env_step >= from_env_step,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def collected_steps(
    session: Session,
    *,
    experiment_id: int,
    skill_id: int | None = None,
    from_env_step: int | None = None,
) -> int:
    """Env steps in the experiment's collected episodes (equal to the learner's env steps
    and its replay's transitions when nothing was lost or recorded twice); with
    ``skill_id``, only those collected for that skill, and with ``from_env_step``, only
    rounds that began there or later."""
    query = select(func.coalesce(func.sum(Episode.steps), 0)).where(
        Episode.experiment_id == experiment_id, Episode.purpose.like("collect%")
    )
    if skill_id is not None:
        query = query.where(Episode.skill_id == skill_id)
    if from_env_step is not None:
        query = query.where(Episode.env_step >= from_env_step)
    return int(session.scalar(query) or 0)


def record_checkpoint(
    session: Session,
    *,
    experiment_id: int,
    artifact_sha256: str,
    env_steps: int,
    kind: str = "learner",
    iteration_id: int | None = None,
) -> Checkpoint:
    """A saved state (its bytes an artifact)."""
    cp = Checkpoint(
        experiment_id=experiment_id, artifact_sha256=artifact_sha256, env_steps=env_steps,
        kind=kind, iteration_id=iteration_id,
    )  # fmt: skip
    session.add(cp)
    session.flush()
    return cp


def latest_checkpoint(
    session: Session, *, experiment_id: int, kind: str = "learner"
) -> Checkpoint | None:
    """The newest checkpoint of this kind, or ``None``."""
    return session.scalar(
        select(Checkpoint)
        .where(Checkpoint.experiment_id == experiment_id, Checkpoint.kind == kind)
        .order_by(Checkpoint.id.desc())
        .limit(1)
    )


def record_task(
    session: Session,
    *,
    spec: Mapping[str, Any] | None,
    spec_hash: str | None,
    instruction: str | None,
    wording: str | None = None,
    proposed_by: DecidedBy | str = DecidedBy.PLANNER,
    reason: str = "",
    status: TaskStatus | str = TaskStatus.PROPOSED,
    verdict: str = "",
    decision_id: int | None = None,
    experiment_id: int | None = None,
    iteration_id: int | None = None,
) -> Task:
    """A task proposal, who proposed it and why (and, if already judged, the verdict)."""
    task = Task(
        spec=dict(spec) if spec is not None else None, spec_hash=spec_hash,
        instruction=instruction, wording=wording, proposed_by=DecidedBy(proposed_by).value,
        reason=reason, status=TaskStatus(status).value, verdict=verdict,
        decision_id=decision_id, experiment_id=experiment_id, iteration_id=iteration_id,
    )  # fmt: skip
    session.add(task)
    session.flush()
    return task


def set_task_status(
    session: Session, *, task_id: int, status: TaskStatus | str, verdict: str = ""
) -> Task:
    """Accept or reject a proposal, with the reason fed to the next prompt."""
    task = session.get(Task, task_id)
    if task is None:
        raise LookupError(f"no task with id {task_id}")
    task.status, task.verdict = TaskStatus(status).value, verdict
    session.flush()
    return task


def record_decomposition(
    session: Session, *, task_id: int, steps: Sequence[Mapping[str, Any]]
) -> list[DecompositionStep]:
    """The ordered subtasks of a task; each mapping holds ``spec``, ``instruction`` and
    optionally ``wording``, ``skill_id``, ``matched_existing``, ``score``."""
    rows = [
        DecompositionStep(task_id=task_id, position=i, **dict(step)) for i, step in enumerate(steps)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def find_experiment(session: Session, *, name: str) -> Experiment | None:
    """The experiment named ``name``, or ``None``."""
    return session.scalar(select(Experiment).where(Experiment.name == name))


def list_experiments(session: Session) -> list[Experiment]:
    """Every experiment, oldest first."""
    return list(session.scalars(select(Experiment).order_by(Experiment.id)))


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


def list_tasks(
    session: Session,
    *,
    experiment_id: int | None = None,
    iteration_id: int | None = None,
    status: TaskStatus | str | Sequence[TaskStatus | str] | None = None,
    limit: int = 1000,
) -> list[Task]:
    """Task proposals matching every filter, oldest first."""
    query = select(Task)
    if experiment_id is not None:
        query = query.where(Task.experiment_id == experiment_id)
    if iteration_id is not None:
        query = query.where(Task.iteration_id == iteration_id)
    if status is not None:
        values = [status] if isinstance(status, str) else list(status)
        query = query.where(Task.status.in_([TaskStatus(v).value for v in values]))
    return list(session.scalars(query.order_by(Task.id).limit(limit)))


def recent_rejections(session: Session, *, experiment_id: int, limit: int = 10) -> list[Task]:
    """The experiment's newest refused proposals (rejected by a person, invalid or
    duplicate), oldest of them first: what the next proposal prompt quotes back."""
    refused = [TaskStatus(v).value for v in ("rejected", "invalid", "duplicate")]
    newest = (
        select(Task)
        .where(Task.experiment_id == experiment_id, Task.status.in_(refused))
        .order_by(Task.id.desc())
        .limit(limit)
    )
    return sorted(session.scalars(newest), key=lambda t: t.id)


def get_task(session: Session, *, task_id: int) -> Task:
    """Task ``task_id``; ``LookupError`` if there is none."""
    task = session.get(Task, task_id)
    if task is None:
        raise LookupError(f"no task with id {task_id}")
    return task


def decomposition_of(session: Session, *, task_id: int) -> list[DecompositionStep]:
    """The ordered subtasks of a task (empty if it was not decomposed)."""
    return list(
        session.scalars(
            select(DecompositionStep)
            .where(DecompositionStep.task_id == task_id)
            .order_by(DecompositionStep.position)
        )
    )


def count_episodes(session: Session, *, experiment_id: int, purpose: str | None = None) -> int:
    """How many episodes an experiment recorded (of one purpose if given)."""
    query = select(func.count(Episode.id)).where(Episode.experiment_id == experiment_id)
    if purpose is not None:
        query = query.where(Episode.purpose == purpose)
    return int(session.scalar(query) or 0)


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


def waiting_proposals(
    session: Session, *, experiment_id: int | None = None, limit: int = 1000
) -> list[tuple[Task, int | None]]:
    """Proposals waiting for a person's review (status ``proposed``), oldest first, each with
    the number of the iteration that proposed it."""
    query = (
        select(Task, Iteration.number)
        .outerjoin(Iteration, Task.iteration_id == Iteration.id)
        .where(Task.status == TaskStatus.PROPOSED.value)
    )
    if experiment_id is not None:
        query = query.where(Task.experiment_id == experiment_id)
    rows = session.execute(query.order_by(Task.id).limit(limit))
    return [(task, number) for task, number in rows]
