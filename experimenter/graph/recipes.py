"""How a skill is executed for data: the parts of its decomposition, in order.

A step runs as its matched skill (a primitive's controller, the policy under a learned
skill's instruction, a composite's components); ``controllers.skill_exec.build_run`` puts the
parts in a ``Chain``. Plain functions over a session and the library's keyword-only API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

import skills
from controllers.layout import ObsLayout
from controllers.skill_exec import PartSpec
from storage import proposals
from storage.enums import SkillKind
from tasks import TaskSpec


def recipe(
    session: Session,
    *,
    skill_id: int,
    task_ids: dict[int, int],
    layout: ObsLayout,
    scripted: bool,
) -> tuple[PartSpec, ...] | None:
    """How to execute skill ``skill_id`` for data: the parts of its decomposition.

    Each step runs as its matched skill (a primitive's controller, the policy under the
    learned skill's instruction, or a composite's components in order, each ending on its
    own success); the step that is the skill itself runs as the policy, or,
    with ``scripted``, as the primitives matching each of its atoms exactly (None when some
    atom has no primitive). A step whose learned skill does not train (it failed: the goal's
    path is blocked) runs as the primitives of its atoms, if the library has them. None when
    the skill has no decomposition beyond itself, or a step cannot run.
    """
    lineage = skills.lineage(session, skill_id=skill_id)
    if lineage.task is None:
        return None
    steps = proposals.decomposition_steps(session, task_ids=[lineage.task.id])[lineage.task.id]
    if not steps or (len(steps) == 1 and not scripted):
        return None
    parts: list[PartSpec] = []
    for step in steps:
        sid = step.skill_id
        if sid is None:
            return None
        skill = skills.get_skill(session, skill_id=sid)
        if skill.kind == SkillKind.COMPOSITE and sid != skill_id:
            inner = composite_parts(session, skill_id=sid, task_ids=task_ids)
            if inner is None:
                return None
            parts.extend(inner)
            continue
        if sid == skill_id:
            if not scripted:
                parts.append(PartSpec("policy", step.spec, task_id=task_ids[sid]))
                continue
            atoms = _atom_primitives(session, spec=step.spec, layout=layout)
            if atoms is None:
                return None
            parts.extend(atoms)
        elif skill.kind == SkillKind.PRIMITIVE and skill.primitive is not None:
            parts.append(
                PartSpec("primitive", step.spec, skill.primitive, dict(skill.primitive_args or {}))
            )
        elif sid in task_ids:
            parts.append(PartSpec("policy", step.spec, task_id=task_ids[sid]))
        elif (atoms := _atom_primitives(session, spec=step.spec, layout=layout)) is not None:
            parts.extend(atoms)
        else:
            return None
    return tuple(parts)


def composite_parts(
    session: Session, *, skill_id: int, task_ids: dict[int, int], depth: int = 0
) -> list[PartSpec] | None:
    """A composite skill as the parts of its components, in order: a primitive's
    controller, a learned skill's policy under its instruction (each part ending on its own
    success), a nested composite expanded in place. None when a component cannot run here
    (a learned skill the learner does not train) or composites nest deeper than 4."""
    if depth > 4:
        return None
    parts: list[PartSpec] = []
    for ref in skills.lineage(session, skill_id=skill_id).components:
        k = skills.get_skill(session, skill_id=ref.id)
        spec = skills.skill_specs(session, skill_ids=[k.id])[k.id]
        if k.kind == SkillKind.COMPOSITE:
            inner = composite_parts(session, skill_id=k.id, task_ids=task_ids, depth=depth + 1)
            if inner is None:
                return None
            parts.extend(inner)
        elif k.kind == SkillKind.PRIMITIVE and k.primitive is not None:
            parts.append(PartSpec("primitive", spec, k.primitive, dict(k.primitive_args or {})))
        elif k.id in task_ids:
            parts.append(PartSpec("policy", spec, task_id=task_ids[k.id]))
        else:
            return None
    return parts or None


def _atom_primitives(
    session: Session, *, spec: dict[str, Any], layout: ObsLayout
) -> list[PartSpec] | None:
    """One primitive part per atom of a one-stage spec, each matching the atom exactly."""
    parsed = TaskSpec.model_validate(spec)  # a stored step: checked when it was decomposed
    if len(parsed.stages) != 1 or parsed.constraints:
        return None
    parts: list[PartSpec] = []
    for atom in _ordered(parsed.stages[0].all):
        one = {"stages": [{"all": [atom.model_dump(exclude_none=True)]}]}
        match = skills.find_primitive(session, spec=one, scene=layout.object_names)
        if match is None or match.primitive is None:
            return None
        parts.append(PartSpec("primitive", one, match.primitive, dict(match.primitive_args or {})))
    return parts


_ORDER = ("reach", "grasped", "lifted", "above", "on", "released")


def _ordered(atoms: Sequence[Any]) -> list[Any]:
    """Atoms in the order a hand achieves them (place before release)."""
    return sorted(atoms, key=lambda a: _ORDER.index(a.pred) if a.pred in _ORDER else 2)
