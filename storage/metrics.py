"""An experiment's metric series: points written by the loop, read back by the dashboard.

Keyword-only functions inside the caller's transaction. A series is read by index ranges
(by name, then step), never scanned whole for a page.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Metric
from storage.pages import check_limit

MAX_SERIES = 100
"""Most metric series names listed for one experiment."""


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
    check_limit(limit)
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
