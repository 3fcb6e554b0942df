"""Listing the library with filters: status, kind, object, predicate, success, experiment.

Lists are pages in id order (``limit``, ``after_id``), so a page costs the same however
large the library grows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Exists, Select, exists, func, select
from sqlalchemy.orm import Session

from skills.errors import SkillError, choice_error
from skills.schemas import SkillPublic
from skills.status import parse_kind, parse_status
from storage.enums import SkillKind, SkillStatus
from storage.models import Skill, SkillFeature
from tasks import PREDICATES

MAX_LIMIT = 10_000


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def filtered(
    query: Select[Skill],
    *,
    status: SkillStatus | str | Sequence[SkillStatus | str] | None = None,
    kind: SkillKind | str | Sequence[SkillKind | str] | None = None,
    objects: str | Sequence[str] | None = None,
    predicates: str | Sequence[str] | None = None,
    min_success: float | None = None,
    experiment_id: int | None = None,
) -> Select[Skill]:
    """``query`` narrowed by the filters (all must hold; a list means any of its values)."""
    statuses = [parse_status(s).value for s in _as_list(status)]
    if statuses:
        query = query.where(Skill.status.in_(statuses))
    kinds = [parse_kind(k).value for k in _as_list(kind)]
    if kinds:
        query = query.where(Skill.kind.in_(kinds))
    for obj in _as_list(objects):
        query = query.where(_has_feature(f"obj:{obj}"))
    for pred in _as_list(predicates):
        if pred not in PREDICATES:
            raise choice_error("predicate", pred, sorted(PREDICATES))
        query = query.where(_has_feature(f"pred:{pred}"))
    if min_success is not None:
        if not 0.0 <= min_success <= 1.0:
            raise SkillError(f"min_success is a success rate in [0, 1], got {min_success}")
        query = query.where(Skill.success_rate >= min_success)
    if experiment_id is not None:
        query = query.where(Skill.experiment_id == experiment_id)
    return query


def _has_feature(feature: str) -> Exists:
    return exists().where(SkillFeature.skill_id == Skill.id, SkillFeature.feature == feature)


def list_skills(
    session: Session,
    *,
    status: SkillStatus | str | Sequence[SkillStatus | str] | None = None,
    kind: SkillKind | str | Sequence[SkillKind | str] | None = None,
    objects: str | Sequence[str] | None = None,
    predicates: str | Sequence[str] | None = None,
    min_success: float | None = None,
    experiment_id: int | None = None,
    limit: int = 100,
    after_id: int | None = None,
) -> list[SkillPublic]:
    """Skills matching every filter, in id order, at most ``limit`` after ``after_id``.

    ``objects``/``predicates``: the spec mentions each of them; ``min_success``: the newest
    evaluation's success rate is at least this; ``experiment_id``: introduced there.
    Unknown statuses, kinds or predicates raise ``SkillError`` listing the allowed values.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise SkillError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    query = filtered(
        select(Skill),
        status=status,
        kind=kind,
        objects=objects,
        predicates=predicates,
        min_success=min_success,
        experiment_id=experiment_id,
    )
    if after_id is not None:
        query = query.where(Skill.id > after_id)
    rows = session.scalars(query.order_by(Skill.id).limit(limit))
    return [SkillPublic.model_validate(r) for r in rows]


def count_skills(
    session: Session,
    *,
    status: SkillStatus | str | Sequence[SkillStatus | str] | None = None,
    kind: SkillKind | str | Sequence[SkillKind | str] | None = None,
    objects: str | Sequence[str] | None = None,
    predicates: str | Sequence[str] | None = None,
    min_success: float | None = None,
    experiment_id: int | None = None,
) -> int:
    """How many skills match the filters of ``list_skills``."""
    query = filtered(
        select(Skill),
        status=status,
        kind=kind,
        objects=objects,
        predicates=predicates,
        min_success=min_success,
        experiment_id=experiment_id,
    )
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def status_counts(session: Session, *, experiment_id: int | None = None) -> dict[str, int]:
    """Number of skills per status (every status present, zero included); of one
    experiment's own skills when ``experiment_id`` is given."""
    query = select(Skill.status, func.count()).group_by(Skill.status)
    if experiment_id is not None:
        query = query.where(Skill.experiment_id == experiment_id)
    rows = session.execute(query)
    counts = {s.value: 0 for s in SkillStatus}
    counts.update({status: n for status, n in rows})
    return counts
