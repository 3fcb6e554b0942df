"""Task proposals, their review and their decompositions (the ``tasks`` and
``decomposition_steps`` tables).

Keyword-only functions inside the caller's transaction. Every proposal is a row, a
rejection with its reason; an accepted task's decomposition is its ordered subtasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.enums import DecidedBy, TaskStatus
from storage.models import DecompositionStep, Iteration, Task
from storage.pages import check_limit


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


def get_task(session: Session, *, task_id: int) -> Task:
    """Task ``task_id``; ``LookupError`` if there is none."""
    task = session.get(Task, task_id)
    if task is None:
        raise LookupError(f"no task with id {task_id}")
    return task


def set_task_status(
    session: Session, *, task_id: int, status: TaskStatus | str, verdict: str = ""
) -> Task:
    """Accept or reject a proposal, with the reason fed to the next prompt."""
    task = get_task(session, task_id=task_id)
    task.status, task.verdict = TaskStatus(status).value, verdict
    session.flush()
    return task


def list_tasks(
    session: Session,
    *,
    experiment_id: int | None = None,
    iteration_id: int | None = None,
    status: TaskStatus | str | Sequence[TaskStatus | str] | None = None,
    newest_first: bool = False,
    before_id: int | None = None,
    limit: int = 1000,
) -> list[Task]:
    """Task proposals matching every filter, oldest first (newest first with
    ``newest_first``), at most ``limit`` with ids below ``before_id``."""
    check_limit(limit, most=None)
    query = select(Task)
    if experiment_id is not None:
        query = query.where(Task.experiment_id == experiment_id)
    if iteration_id is not None:
        query = query.where(Task.iteration_id == iteration_id)
    if status is not None:
        values = [status] if isinstance(status, str) else list(status)
        query = query.where(Task.status.in_([TaskStatus(v).value for v in values]))
    if before_id is not None:
        query = query.where(Task.id < before_id)
    order = Task.id.desc() if newest_first else Task.id
    return list(session.scalars(query.order_by(order).limit(limit)))


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


def decomposition_steps(
    session: Session, *, task_ids: Sequence[int]
) -> dict[int, list[DecompositionStep]]:
    """The ordered subtasks of each task (every id present; empty if it was not
    decomposed)."""
    out: dict[int, list[DecompositionStep]] = {t: [] for t in task_ids}
    if not task_ids:
        return out
    rows = session.scalars(
        select(DecompositionStep)
        .where(DecompositionStep.task_id.in_(list(task_ids)))
        .order_by(DecompositionStep.task_id, DecompositionStep.position)
    )
    for row in rows:
        out[row.task_id].append(row)
    return out
