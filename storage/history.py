"""Reading back what experiments recorded, a page at a time (the dashboard's data).

Keyword-only functions over a read session (``Database.reader()``). Lists are newest first
and paged by id (``before_id``, ``limit``), so a page costs the same however long an
experiment has run; metric series are read by index ranges, never scanned whole for a page.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    Artifact,
    Command,
    Decision,
    DecisionImage,
    DecompositionStep,
    Episode,
    Experiment,
    Iteration,
    Metric,
    Task,
)

MAX_PAGE = 1000
"""Most rows any page function returns."""
MAX_SERIES = 100
"""Most metric series names listed for one experiment."""


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")


def list_experiments(
    session: Session, *, limit: int = 100, before_id: int | None = None
) -> list[Experiment]:
    """Experiments, newest first, at most ``limit`` with ids below ``before_id``."""
    _check_limit(limit)
    query = select(Experiment)
    if before_id is not None:
        query = query.where(Experiment.id < before_id)
    return list(session.scalars(query.order_by(Experiment.id.desc()).limit(limit)))


def list_iterations(
    session: Session, *, experiment_id: int, limit: int = 100, before_number: int | None = None
) -> list[Iteration]:
    """An experiment's iterations, newest first (the first is the current one), at most
    ``limit`` numbered below ``before_number``."""
    _check_limit(limit)
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


def metric_names(session: Session, *, experiment_id: int) -> list[str]:
    """Names of an experiment's metric series, sorted (at most ``MAX_SERIES``).

    One index seek per name (the next name after the last one found), so the cost does not
    grow with the number of points.
    """
    names: list[str] = []
    last: str | None = None
    while len(names) < MAX_SERIES:
        query = select(Metric.name).where(Metric.experiment_id == experiment_id)
        if last is not None:
            query = query.where(Metric.name > last)
        last = session.scalar(query.order_by(Metric.name).limit(1))
        if last is None:
            break
        names.append(last)
    return names


def latest_metric(session: Session, *, experiment_id: int, name: str) -> tuple[int, float] | None:
    """The ``(step, value)`` of a series' point with the largest step, or ``None``."""
    row = session.execute(
        select(Metric.step, Metric.value)
        .where(Metric.experiment_id == experiment_id, Metric.name == name)
        .order_by(Metric.step.desc(), Metric.id.desc())
        .limit(1)
    ).first()
    return (int(row[0]), float(row[1])) if row is not None else None


def metric_points(
    session: Session,
    *,
    experiment_id: int,
    name: str,
    after_step: int | None = None,
    limit: int = 1000,
) -> list[tuple[int, float]]:
    """``(step, value)`` of a series in step order, at most ``limit`` after ``after_step``."""
    _check_limit(limit)
    query = select(Metric.step, Metric.value).where(
        Metric.experiment_id == experiment_id, Metric.name == name
    )
    if after_step is not None:
        query = query.where(Metric.step > after_step)
    rows = session.execute(query.order_by(Metric.step, Metric.id).limit(limit))
    return [(int(s), float(v)) for s, v in rows]


def downsampled_series(
    session: Session, *, experiment_id: int, name: str, max_points: int = 400
) -> list[tuple[int, float]]:
    """A series reduced to at most about ``max_points`` points for a chart: the steps are cut
    into equal buckets, each giving its first step and mean value."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    where = (Metric.experiment_id == experiment_id, Metric.name == name)
    lo, hi, n = session.execute(
        select(func.min(Metric.step), func.max(Metric.step), func.count()).where(*where)
    ).one()
    if not n:
        return []
    if n <= max_points:
        return metric_points(session, experiment_id=experiment_id, name=name, limit=max_points)
    width = max(1, (int(hi) - int(lo)) // (max_points - 1) + 1)
    bucket = (Metric.step - int(lo)) // width
    rows = session.execute(
        select(func.min(Metric.step), func.avg(Metric.value))
        .where(*where)
        .group_by(bucket)
        .order_by(func.min(Metric.step))
    )
    return [(int(s), float(v)) for s, v in rows]


def get_decision(session: Session, *, decision_id: int) -> Decision:
    """Decision ``decision_id``; ``LookupError`` if there is none."""
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise LookupError(f"no decision with id {decision_id}")
    return decision


OUTCOMES = ("valid", "invalid", "error", "cached")
"""Outcome filters of ``decision_page``: a valid answer; an answer that failed the checks
(no error recorded); a failed call (error recorded); an answer from the cache."""


def decision_page(
    session: Session,
    *,
    experiment_id: int | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Decision]:
    """Planner decisions newest first, filtered by kind and outcome (one of ``OUTCOMES``)."""
    _check_limit(limit)
    query = select(Decision)
    if experiment_id is not None:
        query = query.where(Decision.experiment_id == experiment_id)
    if kind is not None:
        query = query.where(Decision.kind == kind)
    if outcome == "valid":
        query = query.where(Decision.valid.is_(True))
    elif outcome == "invalid":
        query = query.where(Decision.valid.is_(False), Decision.error.is_(None))
    elif outcome == "error":
        query = query.where(Decision.error.is_not(None))
    elif outcome == "cached":
        query = query.where(Decision.cache_hit.is_(True))
    elif outcome is not None:
        raise ValueError(f"unknown outcome {outcome!r}; allowed: {', '.join(OUTCOMES)}")
    if before_id is not None:
        query = query.where(Decision.id < before_id)
    return list(session.scalars(query.order_by(Decision.id.desc()).limit(limit)))


def images_of(session: Session, *, decision_ids: Sequence[int]) -> dict[int, list[str]]:
    """The sha256 of the images shown in each decision, in prompt order (every id present)."""
    out: dict[int, list[str]] = {d: [] for d in decision_ids}
    if not decision_ids:
        return out
    rows = session.execute(
        select(DecisionImage.decision_id, DecisionImage.artifact_sha256)
        .where(DecisionImage.decision_id.in_(list(decision_ids)))
        .order_by(DecisionImage.decision_id, DecisionImage.position)
    )
    for did, sha in rows:
        out[int(did)].append(sha)
    return out


def decision_kinds(session: Session) -> list[str]:
    """The kinds of decision recorded so far (analyze, propose, ...), sorted."""
    return sorted(session.scalars(select(Decision.kind).distinct()))


def list_tasks(
    session: Session,
    *,
    experiment_id: int | None = None,
    status: str | Sequence[str] | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Task]:
    """Task proposals newest first, of one experiment and statuses if given."""
    _check_limit(limit)
    query = select(Task)
    if experiment_id is not None:
        query = query.where(Task.experiment_id == experiment_id)
    if status is not None:
        query = query.where(Task.status.in_([status] if isinstance(status, str) else status))
    if before_id is not None:
        query = query.where(Task.id < before_id)
    return list(session.scalars(query.order_by(Task.id.desc()).limit(limit)))


def decomposition_steps(
    session: Session, *, task_ids: Sequence[int]
) -> dict[int, list[DecompositionStep]]:
    """The ordered subtasks of each task (tasks without a decomposition are left out)."""
    out: dict[int, list[DecompositionStep]] = {}
    if not task_ids:
        return out
    rows = session.scalars(
        select(DecompositionStep)
        .where(DecompositionStep.task_id.in_(list(task_ids)))
        .order_by(DecompositionStep.task_id, DecompositionStep.position)
    )
    for row in rows:
        out.setdefault(row.task_id, []).append(row)
    return out


def latest_episode(
    session: Session, *, skill_id: int, purpose: str | None = None, with_video: bool = False
) -> Episode | None:
    """A skill's newest episode (of this purpose; with a video if asked), or ``None``."""
    query = select(Episode).where(Episode.skill_id == skill_id)
    if purpose is not None:
        query = query.where(Episode.purpose == purpose)
    if with_video:
        query = query.where(Episode.video_sha256.is_not(None))
    return session.scalar(query.order_by(Episode.id.desc()).limit(1))


def get_artifact(session: Session, *, sha256: str) -> Artifact | None:
    """The registration (size, media type, name) of an artifact, or ``None``."""
    return session.get(Artifact, sha256)


def list_commands(
    session: Session,
    *,
    experiment_id: int | None = None,
    status: str | None = None,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Command]:
    """Commands newest first (of one experiment, status and kinds if given)."""
    _check_limit(limit)
    query = select(Command)
    if experiment_id is not None:
        query = query.where(Command.experiment_id == experiment_id)
    if status is not None:
        query = query.where(Command.status == status)
    if kinds is not None:
        query = query.where(Command.kind.in_(list(kinds)))
    if before_id is not None:
        query = query.where(Command.id < before_id)
    return list(session.scalars(query.order_by(Command.id.desc()).limit(limit)))
