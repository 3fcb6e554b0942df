"""Browsing the library as a table: sorted pages, success series, counts per experiment.

What the dashboard's skill table needs beside ``list_skills`` (pages in id order): a page
sorted by any column, the recent success rates of the skills on a page (sparklines), and the
skills of each experiment counted by status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skills.errors import SkillError, choice_error
from skills.queries import MAX_LIMIT, filtered
from skills.schemas import SkillPublic
from storage.enums import SkillStatus
from storage.models import Evaluation, Skill
from tasks import PREDICATES

SORTS: dict[str, Any] = {
    "id": Skill.id,
    "instruction": Skill.instruction,
    "status": Skill.status,
    "kind": Skill.kind,
    "success": Skill.success_rate,
    "evaluations": Skill.evaluations,
    "updated": Skill.updated_at,
}
"""Columns a page can be sorted by (ties in id order)."""
PREDICATE_NAMES = tuple(sorted(PREDICATES))
"""Predicates a skill filter may name."""


class SuccessPoint(NamedTuple):
    """One evaluation of a skill on its learning curve (a tuple: pages build hundreds)."""

    env_steps: int
    success_rate: float


def skill_page(
    session: Session,
    *,
    sort: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
    ids: Sequence[int] | None = None,
    **filters: Any,
) -> tuple[list[SkillPublic], int]:
    """One page of skills sorted by ``sort`` (a key of ``SORTS``) and how many match in all.

    ``filters`` are those of ``list_skills`` (status, kind, objects, predicates, min_success,
    experiment_id); ``ids`` narrows to these skills (e.g. the hits of a search). Skills never
    evaluated come last when sorting by success, either way.
    """
    if sort not in SORTS:
        raise choice_error("sort column", sort, list(SORTS))
    if not 1 <= limit <= MAX_LIMIT:
        raise SkillError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise SkillError(f"offset counts skills to skip, got {offset}")
    query = filtered(select(Skill), **filters)
    if ids is not None:
        query = query.where(Skill.id.in_(list(ids)))
    column = SORTS[sort]
    order = column.desc() if descending else column.asc()
    tie = Skill.id.desc() if descending else Skill.id.asc()
    order_by = [order.nulls_last(), tie] if sort == "success" else [order, tie]
    rows = session.scalars(query.order_by(*order_by).offset(offset).limit(limit))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return [SkillPublic.model_validate(r) for r in rows], total


def matching_ids(session: Session, *, ids: Sequence[int], **filters: Any) -> set[int]:
    """Which of ``ids`` match the filters of ``list_skills`` (ids only: cheap for many)."""
    if not ids:
        return set()
    query = filtered(select(Skill.id), **filters).where(Skill.id.in_(list(ids)))
    return set(session.scalars(query))


def success_series(
    session: Session,
    *,
    skill_ids: Sequence[int],
    experiment_id: int | None = None,
    last: int = 20,
) -> dict[int, list[SuccessPoint]]:
    """The newest ``last`` evaluations of each skill, oldest first (of one experiment if
    given). Skills without evaluations map to an empty list."""
    if last < 1:
        raise SkillError(f"last is a number of evaluations, got {last}")
    out: dict[int, list[SuccessPoint]] = {sid: [] for sid in skill_ids}
    if not skill_ids:
        return out
    rank = (
        func.row_number()
        .over(partition_by=Evaluation.skill_id, order_by=Evaluation.id.desc())
        .label("rank")
    )
    inner = select(
        Evaluation.skill_id, Evaluation.id, Evaluation.env_steps, Evaluation.success_rate, rank
    ).where(Evaluation.skill_id.in_(list(skill_ids)))
    if experiment_id is not None:
        inner = inner.where(Evaluation.experiment_id == experiment_id)
    sub = inner.subquery()
    rows = session.execute(
        select(sub.c.skill_id, sub.c.env_steps, sub.c.success_rate)
        .where(sub.c.rank <= last)
        .order_by(sub.c.skill_id, sub.c.id)
    )
    for sid, steps, rate in rows:
        out[int(sid)].append(SuccessPoint(int(steps), float(rate)))
    return out


def status_counts_by_experiment(
    session: Session, *, experiment_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Skills introduced by each experiment, counted by status (every status, zero included)."""
    out = {eid: {s.value: 0 for s in SkillStatus} for eid in experiment_ids}
    if not experiment_ids:
        return out
    rows = session.execute(
        select(Skill.experiment_id, Skill.status, func.count())
        .where(Skill.experiment_id.in_(list(experiment_ids)))
        .group_by(Skill.experiment_id, Skill.status)
    )
    for eid, status, n in rows:
        if eid is not None:
            out[eid][status] = int(n)
    return out
