"""One skill in full: spec, status history, evaluation history and lineage."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from skills.errors import SkillError, UnknownSkill
from skills.schemas import (
    EvaluationPublic,
    Lineage,
    SkillDetail,
    SkillPublic,
    SkillRef,
    StatusChangePublic,
    TaskRef,
)
from storage.models import Evaluation, Skill, SkillComponent, SkillStatusChange, Task


def lineage(session: Session, *, skill_id: int) -> Lineage:
    """Where skill ``skill_id`` came from (task, decision, parent) and what it is part of."""
    skill = session.get(Skill, skill_id)
    if skill is None:
        raise UnknownSkill(skill_id)
    task = session.get(Task, skill.task_id) if skill.task_id is not None else None
    parent = session.get(Skill, skill.parent_id) if skill.parent_id is not None else None
    children = session.scalars(select(Skill).where(Skill.parent_id == skill_id).order_by(Skill.id))
    components = session.scalars(
        select(Skill)
        .join(SkillComponent, SkillComponent.component_id == Skill.id)
        .where(SkillComponent.composite_id == skill_id)
        .order_by(SkillComponent.position)
    )
    used_in = session.scalars(
        select(Skill)
        .join(SkillComponent, SkillComponent.composite_id == Skill.id)
        .where(SkillComponent.component_id == skill_id)
        .distinct()
        .order_by(Skill.id)
    )
    return Lineage(
        task=TaskRef.model_validate(task) if task is not None else None,
        decision_id=skill.decision_id,
        experiment_id=skill.experiment_id,
        parent=SkillRef.model_validate(parent) if parent is not None else None,
        children=[SkillRef.model_validate(s) for s in children],
        components=[SkillRef.model_validate(s) for s in components],
        used_in=[SkillRef.model_validate(s) for s in used_in],
    )


def status_histories(
    session: Session, *, skill_ids: Sequence[int]
) -> dict[int, list[StatusChangePublic]]:
    """The status history of each of these skills, oldest change first (one query)."""
    out: dict[int, list[StatusChangePublic]] = {i: [] for i in skill_ids}
    if not skill_ids:
        return out
    rows = session.scalars(
        select(SkillStatusChange)
        .where(SkillStatusChange.skill_id.in_(list(skill_ids)))
        .order_by(SkillStatusChange.id)
    )
    for h in rows:
        out[h.skill_id].append(StatusChangePublic.model_validate(h))
    return out


def skill_detail(session: Session, *, skill_id: int, evaluations: int = 100) -> SkillDetail:
    """Skill ``skill_id`` with its history, its newest ``evaluations`` and its lineage."""
    if evaluations < 0:
        raise SkillError(f"evaluations is a count of rows to show, got {evaluations}")
    skill = session.get(Skill, skill_id)
    if skill is None:
        raise UnknownSkill(skill_id)
    history = session.scalars(
        select(SkillStatusChange)
        .where(SkillStatusChange.skill_id == skill_id)
        .order_by(SkillStatusChange.id)
    )
    evals = session.scalars(
        select(Evaluation)
        .where(Evaluation.skill_id == skill_id)
        .order_by(Evaluation.id.desc())
        .limit(evaluations)
    )
    return SkillDetail(
        skill=SkillPublic.model_validate(skill),
        spec=skill.spec,
        history=[StatusChangePublic.model_validate(h) for h in history],
        evaluations=[EvaluationPublic.model_validate(e) for e in evals],
        lineage=lineage(session, skill_id=skill_id),
    )
