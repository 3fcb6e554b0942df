"""The library's write side and single-skill reads: add, get, status changes, evaluations.

Every function takes the SQLAlchemy session first and the rest by keyword; the caller owns
the transaction (``Database.session()``), so a refused change leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from skills.errors import SkillError, UnknownSkill
from skills.features import spec_features
from skills.schemas import EvaluationCreate, EvaluationPublic, SkillPublic
from skills.stats import wilson_lower
from skills.status import check_transition, parse_decided_by, parse_kind, parse_status
from storage.enums import DecidedBy, SkillKind, SkillStatus
from storage.models import Evaluation, Skill, SkillComponent, SkillFeature, SkillStatusChange
from storage.types import utcnow
from tasks import TaskSpec, TaskSpecError, canonical_instruction, validate
from tasks.scene import DEFAULT_OBJECTS, SceneLike

_PRIMITIVE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def default_scene() -> tuple[str, ...]:
    """Object names of the default scene (red, green, blue)."""
    return DEFAULT_OBJECTS


def parse_skill_spec(spec: TaskSpec | Mapping[str, Any] | str, scene: SceneLike) -> TaskSpec:
    """A validated, canonical spec; a bad one is a ``SkillError`` listing every problem."""
    try:
        return validate(spec, scene).canonical()
    except TaskSpecError as e:
        raise SkillError(str(e)) from None


def _in_scope(spec_hash: str, experiment_id: int | None) -> ColumnElement[bool]:
    """The row of ``spec_hash`` in one scope: an experiment's own skills, or (``None``) the
    shared library of seeded primitives and imports. One skill per spec in each scope."""
    owner = (
        Skill.experiment_id.is_(None)
        if experiment_id is None
        else Skill.experiment_id == experiment_id
    )
    return and_(Skill.spec_hash == spec_hash, owner)


def find_skill(
    session: Session,
    *,
    spec: TaskSpec | Mapping[str, Any] | str,
    scene: SceneLike | None = None,
    experiment_id: int | None = None,
) -> SkillPublic | None:
    """The skill for ``spec`` (same canonical spec) in one scope, or ``None``.

    ``experiment_id``: that experiment's own skill; ``None``: the shared library's (seeded
    primitives, imports). Policies belong to experiments, so what a skill's status means
    does too: each experiment has its own skill for a spec.
    """
    parsed = parse_skill_spec(spec, scene if scene is not None else default_scene())
    row = session.scalar(select(Skill).where(_in_scope(parsed.spec_hash(), experiment_id)))
    return SkillPublic.model_validate(row) if row is not None else None


def find_primitive(
    session: Session, *, spec: TaskSpec | Mapping[str, Any] | str, scene: SceneLike | None = None
) -> SkillPublic | None:
    """A scripted primitive achieving exactly ``spec``, whoever seeded it, or ``None``
    (a controller is the same in every experiment)."""
    parsed = parse_skill_spec(spec, scene if scene is not None else default_scene())
    row = session.scalar(
        select(Skill)
        .where(
            Skill.spec_hash == parsed.spec_hash(),
            Skill.kind == SkillKind.PRIMITIVE.value,
            Skill.primitive.is_not(None),
        )
        .order_by(Skill.experiment_id.is_not(None), Skill.id)
        .limit(1)
    )
    return SkillPublic.model_validate(row) if row is not None else None


def add_skill(
    session: Session,
    *,
    spec: TaskSpec | Mapping[str, Any] | str,
    kind: SkillKind | str = SkillKind.LEARNED,
    scene: SceneLike | None = None,
    wording: str | None = None,
    description: str = "",
    primitive: str | None = None,
    primitive_args: Mapping[str, Any] | None = None,
    components: Sequence[int] = (),
    status: SkillStatus | str = SkillStatus.PROPOSED,
    decided_by: DecidedBy | str = DecidedBy.PLANNER,
    actor: str | None = None,
    reason: str = "",
    experiment_id: int | None = None,
    task_id: int | None = None,
    decision_id: int | None = None,
    parent_id: int | None = None,
) -> SkillPublic:
    """Add the skill for ``spec``, or return the existing one with the same spec hash in the
    same scope (``experiment_id``: that experiment's own skills; ``None``: the shared library).

    ``spec`` is validated against ``scene`` (default: red, green, blue) and stored in
    canonical form with its canonical instruction; ``wording`` keeps the proposer's words.
    A ``primitive`` skill names its scripted controller (``primitive``, ``primitive_args``);
    a ``composite`` lists the ids of its ``components`` in execution order. The creation is
    the first row of the status history (``decided_by``, ``actor``, ``reason``).
    Raises ``SkillError`` on any bad input, before anything is written.
    """
    parsed = parse_skill_spec(spec, scene if scene is not None else default_scene())
    kind_, status_ = parse_kind(kind), parse_status(status)
    decider = parse_decided_by(decided_by)
    _check_execution(kind_, primitive, primitive_args, components)
    existing = session.scalar(select(Skill).where(_in_scope(parsed.spec_hash(), experiment_id)))
    if existing is not None:
        return SkillPublic.model_validate(existing)
    for ref in (*components, *([parent_id] if parent_id is not None else [])):
        if session.get(Skill, ref) is None:
            raise UnknownSkill(ref)
    skill = Skill(
        spec_hash=parsed.spec_hash(),
        spec=parsed.model_dump(mode="json", exclude_none=True),
        instruction=canonical_instruction(parsed),
        wording=wording,
        description=description,
        kind=kind_.value,
        status=status_.value,
        primitive=primitive,
        primitive_args=dict(primitive_args) if primitive_args is not None else None,
        stages=len(parsed.stages),
        experiment_id=experiment_id,
        task_id=task_id,
        decision_id=decision_id,
        parent_id=parent_id,
    )
    try:
        # A savepoint: a concurrent writer adding the same spec (PostgreSQL) loses cleanly.
        with session.begin_nested():
            session.add(skill)
            session.flush()
    except IntegrityError:
        winner = session.scalar(select(Skill).where(_in_scope(parsed.spec_hash(), experiment_id)))
        if winner is None:
            raise
        return SkillPublic.model_validate(winner)
    session.add_all(SkillFeature(skill_id=skill.id, feature=f) for f in spec_features(parsed))
    session.add_all(
        SkillComponent(composite_id=skill.id, position=i, component_id=c)
        for i, c in enumerate(components)
    )
    session.add(
        SkillStatusChange(
            skill_id=skill.id,
            from_status=None,
            to_status=status_.value,
            decided_by=decider.value,
            actor=actor,
            decision_id=decision_id,
            reason=reason or "added",
        )
    )
    session.flush()
    return SkillPublic.model_validate(skill)


def add_skills(
    session: Session,
    *,
    specs: Sequence[TaskSpec | Mapping[str, Any] | str],
    scene: SceneLike | None = None,
    status: SkillStatus | str = SkillStatus.PROPOSED,
    decided_by: DecidedBy | str = DecidedBy.PLANNER,
    reason: str = "added",
    experiment_id: int | None = None,
) -> list[int]:
    """Add many learned skills at once (statements in batches); returns their ids in order.

    Each spec is validated and deduplicated as by ``add_skill`` (a spec already in the
    library, or repeated in ``specs``, gives the existing id). Every spec is checked before
    anything is written: one invalid spec raises ``SkillError`` naming its position.
    """
    names = scene if scene is not None else default_scene()
    status_, decider = parse_status(status), parse_decided_by(decided_by)
    parsed: list[TaskSpec] = []
    for n, raw in enumerate(specs):
        try:
            parsed.append(parse_skill_spec(raw, names))
        except SkillError as e:
            raise SkillError(f"spec {n}: {e}") from None
    hashes = [p.spec_hash() for p in parsed]
    ids: dict[str, int] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 10_000):
        chunk = unique[start : start + 10_000]
        owner = (
            Skill.experiment_id.is_(None)
            if experiment_id is None
            else Skill.experiment_id == experiment_id
        )
        rows = session.execute(
            select(Skill.spec_hash, Skill.id).where(Skill.spec_hash.in_(chunk), owner)
        )
        ids.update({h: i for h, i in rows})
    new = {h: p for h, p in zip(hashes, parsed, strict=True) if h not in ids}
    if new:
        now = utcnow()
        rows_in = [
            {
                "spec_hash": h,
                "spec": p.model_dump(mode="json", exclude_none=True),
                "instruction": canonical_instruction(p),
                "description": "",
                "kind": SkillKind.LEARNED.value,
                "status": status_.value,
                "stages": len(p.stages),
                "experiment_id": experiment_id,
                "created_at": now,
                "updated_at": now,
                "evaluations": 0,
            }
            for h, p in new.items()
        ]
        returned = session.execute(
            insert(Skill).returning(Skill.spec_hash, Skill.id, sort_by_parameter_order=True),
            rows_in,
        )
        ids.update({h: i for h, i in returned})
        session.execute(
            insert(SkillFeature),
            [{"skill_id": ids[h], "feature": f} for h, p in new.items() for f in spec_features(p)],
        )
        session.execute(
            insert(SkillStatusChange),
            [
                {
                    "skill_id": ids[h],
                    "to_status": status_.value,
                    "decided_by": decider.value,
                    "reason": reason,
                    "created_at": now,
                }
                for h in new
            ],
        )
    return [ids[h] for h in hashes]


def _check_execution(
    kind: SkillKind,
    primitive: str | None,
    primitive_args: Mapping[str, Any] | None,
    components: Sequence[int],
) -> None:
    if kind is SkillKind.PRIMITIVE:
        if not primitive or not _PRIMITIVE_NAME.match(primitive):
            raise SkillError(
                f"a primitive skill names its scripted controller: got primitive={primitive!r}; "
                "give e.g. primitive='grasp', primitive_args={'obj': 'red'}"
            )
    elif primitive is not None or primitive_args is not None:
        raise SkillError(f"only primitive skills take primitive/primitive_args, not {kind.value}")
    if kind is SkillKind.COMPOSITE and len(components) < 2:
        raise SkillError(
            f"a composite skill lists at least 2 component skill ids; got {list(components)}"
        )
    if kind is not SkillKind.COMPOSITE and components:
        raise SkillError(f"only composite skills have components, not {kind.value} skills")


def _skill(session: Session, skill_id: int, *, lock: bool = False) -> Skill:
    query = select(Skill).where(Skill.id == skill_id)
    if lock:
        query = query.with_for_update()  # PostgreSQL: one status change at a time
    skill = session.scalar(query)
    if skill is None:
        raise UnknownSkill(skill_id)
    return skill


def get_skill(session: Session, *, skill_id: int) -> SkillPublic:
    """The skill ``skill_id``; ``UnknownSkill`` if there is none."""
    return SkillPublic.model_validate(_skill(session, skill_id))


def set_status(
    session: Session,
    *,
    skill_id: int,
    status: SkillStatus | str,
    decided_by: DecidedBy | str,
    reason: str,
    actor: str | None = None,
    decision_id: int | None = None,
) -> SkillPublic:
    """Move a skill to ``status`` through the state machine and record who decided and why.

    Raises ``TransitionRefused`` (naming the allowed transitions) for any other change.
    """
    target, decider = parse_status(status), parse_decided_by(decided_by)
    skill = _skill(session, skill_id, lock=True)
    current = SkillStatus(skill.status)
    check_transition(skill_id, current, target)
    skill.status, skill.updated_at = target.value, utcnow()
    session.add(
        SkillStatusChange(
            skill_id=skill_id,
            from_status=current.value,
            to_status=target.value,
            decided_by=decider.value,
            actor=actor,
            decision_id=decision_id,
            reason=reason,
        )
    )
    session.flush()
    return SkillPublic.model_validate(skill)


def record_evaluation(
    session: Session,
    *,
    skill_id: int,
    episodes: int,
    successes: int,
    mean_return: float | None = None,
    env_steps: int = 0,
    experiment_id: int | None = None,
    iteration_id: int | None = None,
) -> EvaluationPublic:
    """Record one measurement of a skill; it becomes the skill's newest figures."""
    item = _evaluation_input(
        skill_id=skill_id,
        episodes=episodes,
        successes=successes,
        mean_return=mean_return,
        env_steps=env_steps,
        experiment_id=experiment_id,
        iteration_id=iteration_id,
    )
    _skill(session, skill_id)
    row = Evaluation(**item.model_dump(), success_rate=item.successes / item.episodes)
    session.add(row)
    session.flush()
    _update_summaries(session, [item], [row.created_at])
    return EvaluationPublic.model_validate(row)


def _evaluation_input(**fields: Any) -> EvaluationCreate:
    if fields["episodes"] <= 0:
        raise SkillError(f"episodes must be positive, got {fields['episodes']}")
    if not 0 <= fields["successes"] <= fields["episodes"]:
        raise SkillError(
            f"successes must be between 0 and episodes ({fields['episodes']}), "
            f"got {fields['successes']}"
        )
    return EvaluationCreate(**fields)


def record_evaluations(session: Session, *, evaluations: Sequence[EvaluationCreate]) -> int:
    """Record many measurements at once (in order: the last per skill is its newest).

    Returns how many were stored. Unknown skill ids raise ``UnknownSkill`` before writing.
    """
    items = [_evaluation_input(**e.model_dump()) for e in evaluations]
    if not items:
        return 0
    ids = sorted({e.skill_id for e in items})
    known: set[int] = set()
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        known.update(session.scalars(select(Skill.id).where(Skill.id.in_(chunk))))
    missing = [i for i in ids if i not in known]
    if missing:
        raise UnknownSkill(missing[0])
    now = utcnow()
    session.execute(
        insert(Evaluation),
        [
            {**e.model_dump(), "success_rate": e.successes / e.episodes, "created_at": now}
            for e in items
        ],
    )
    _update_summaries(session, items, [now] * len(items))
    return len(items)


def _update_summaries(
    session: Session, items: Sequence[EvaluationCreate], times: Sequence[Any]
) -> None:
    """Copy each skill's newest evaluation onto its row; keep the best and the count."""
    newest: dict[int, tuple[EvaluationCreate, Any]] = {}
    counts: dict[int, int] = {}
    best: dict[int, float] = {}
    for item, when in zip(items, times, strict=True):
        rate_ = item.successes / item.episodes
        newest[item.skill_id] = (item, when)
        counts[item.skill_id] = counts.get(item.skill_id, 0) + 1
        best[item.skill_id] = max(best.get(item.skill_id, 0.0), rate_)
    table = Skill.__table__
    assert isinstance(table, Table)
    rate: BindParameter[float] = bindparam("rate")
    top: BindParameter[float] = bindparam("top")
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values(
            evaluations=table.c.evaluations + bindparam("n"),
            success_rate=rate,
            success_lower=bindparam("lower"),
            best_success_rate=case(
                (func.coalesce(table.c.best_success_rate, -1.0) < top, top),
                else_=table.c.best_success_rate,
            ),
            env_steps=bindparam("steps"),
            evaluated_at=bindparam("when"),
        )
    )
    session.execute(
        stmt,
        [
            {
                "sid": sid,
                "n": counts[sid],
                "rate": item.successes / item.episodes,
                "lower": wilson_lower(item.successes, item.episodes),
                "top": best[sid],
                "steps": item.env_steps,
                "when": when,
            }
            for sid, (item, when) in newest.items()
        ],
    )
    session.expire_all()  # ORM copies of the updated skills are stale now


def evaluated_in(session: Session, *, iteration_id: int) -> dict[int, EvaluationPublic]:
    """The evaluations recorded in an iteration, by skill id (the newest per skill)."""
    rows = session.scalars(
        select(Evaluation).where(Evaluation.iteration_id == iteration_id).order_by(Evaluation.id)
    )
    return {e.skill_id: EvaluationPublic.model_validate(e) for e in rows}


def skill_specs(session: Session, *, skill_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The canonical spec of each of these skills, by id (unknown ids are left out)."""
    out: dict[int, dict[str, Any]] = {}
    ids = list(dict.fromkeys(skill_ids))
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        rows = session.execute(select(Skill.id, Skill.spec).where(Skill.id.in_(chunk)))
        out.update({i: spec for i, spec in rows})
    return out
