"""``decompose``: each new task split into subtasks, each matched to a library skill or added
as a new one; without review the task's skills start training."""

from __future__ import annotations

from typing import Any

import skills
from experimenter.graph.context import Context
from experimenter.graph.nodes.shared import PROMPT_LIBRARY, Update, as_library
from experimenter.graph.roster import accept_task
from experimenter.graph.state import LoopState
from experimenter.planner import DecomposeInput, LibrarySkill
from storage import proposals
from storage.enums import DecidedBy, SkillKind, SkillStatus
from tasks import TaskSpec

MATCH_STRUCTURE = 0.95
"""Structural similarity (``skills.retrieval``: atoms, predicates, objects, parameters) at
which a subtask is taken to be the nearest existing skill. 1.0 is the same spec; a lift 1 mm
off of 11 cm scores 0.99, 5 % off 0.96, 10 % off 0.93; ``on(red, blue)`` against
``on(red, blue)`` plus ``released(red)`` 0.65; another object or predicate below 0.7. The
wording only ranks the candidates: a model's words vary more than its specs."""


ALIVE = (SkillStatus.PROPOSED, SkillStatus.TRAINING, SkillStatus.LEARNED, SkillStatus.FAILED)
"""The statuses a subtask may be matched to (a retired skill is not)."""


def _scope(ctx: Context) -> list[int | None]:
    """The skills this experiment may use: its own, and the shared library's."""
    return [ctx.experiment_id, None]


def _nearest_library(ctx: Context, s: Any, spec: dict[str, Any]) -> list[LibrarySkill]:
    """What the decompose prompt lists: the skills nearest to the task and to each of its
    stages' atoms, within the experiment's scope, at most ``PROMPT_LIBRARY``."""
    parsed = TaskSpec.model_validate(spec)  # a stored task: checked when it was proposed
    queries = [parsed.model_dump(mode="json", exclude_none=True)]
    for stage in parsed.stages:
        for atom in stage.all:
            queries.append({"stages": [{"all": [atom.model_dump(mode="json", exclude_none=True)]}]})
    found: dict[int, skills.SkillPublic] = {}
    for q in queries:
        for n in skills.nearest_skills(
            s, spec=q, k=10, scene=ctx.layout.object_names, scope=_scope(ctx)
        ):
            found.setdefault(n.skill.id, n.skill)
    return as_library(s, list(found.values())[:PROMPT_LIBRARY])


def decompose(ctx: Context, state: LoopState) -> Update:
    """Split each new task into subtasks matched to library skills; new ones are added.

    The task itself becomes the experiment's own skill, trained once the task is accepted
    (the policy learns the task; the decomposition steers the data it is given). Each
    subtask is matched by scored retrieval (``skills.nearest_skills``) within the
    experiment's scope (its own skills and the shared primitives): the same spec, else the
    nearest skill whose structure scores at least ``MATCH_STRUCTURE``, is that subtask; any
    other subtask becomes a new learned skill of the experiment (one level deep: it is not
    decomposed further). Without review, the task is accepted at once and its skills start
    training.
    """
    dollars = state.dollars
    for task_id in state.new_tasks:
        with ctx.db.reader() as s:
            task = proposals.get_task(s, task_id=task_id)
            if proposals.decomposition_steps(s, task_ids=[task_id])[task_id] or task.spec is None:
                continue
            spec, instruction = task.spec, task.instruction or ""
            wording, why = task.wording, task.reason
            library = _nearest_library(ctx, s, spec)
        answer = ctx.planner.decompose(
            DecomposeInput(
                objects=list(ctx.layout.object_names),
                task=spec,
                instruction=instruction,
                library=library,
            )
        )
        dollars += answer.dollars
        with ctx.db.session() as s:
            own = skills.add_skill(
                s, spec=spec, kind=SkillKind.LEARNED, scene=ctx.layout.object_names,
                wording=wording, experiment_id=ctx.experiment_id, task_id=task_id,
                decision_id=answer.decision_id, reason=f"proposed: {why}",
            )  # fmt: skip
            steps = []
            for sub in answer.value.subtasks:
                sub_spec = sub.spec.canonical().model_dump(mode="json", exclude_none=True)
                found, score = _match(ctx, s, sub_spec, sub.instruction)
                matched = found is not None and found.id != own.id
                if found is None:
                    found = skills.add_skill(
                        s, spec=sub_spec, kind=SkillKind.LEARNED, scene=ctx.layout.object_names,
                        wording=sub.instruction, experiment_id=ctx.experiment_id,
                        task_id=task_id, parent_id=own.id, decision_id=answer.decision_id,
                        reason=f"subtask of {own.instruction!r}",
                    )  # fmt: skip
                steps.append({
                    "spec": sub_spec, "instruction": found.instruction,
                    "wording": sub.instruction, "skill_id": found.id,
                    "matched_existing": matched, "score": score,
                })  # fmt: skip
            proposals.record_decomposition(s, task_id=task_id, steps=steps)
            if not ctx.settings.review:
                accept_task(
                    s, task_id=task_id, decided_by=DecidedBy.PLANNER,
                    reason=f"accepted proposal ({answer.value.rationale or 'decomposed'})",
                )  # fmt: skip
    return {"dollars": dollars, "new_tasks": [] if not ctx.settings.review else state.new_tasks}


def _match(
    ctx: Context, s: Any, spec: dict[str, Any], wording: str
) -> tuple[skills.SkillPublic | None, float | None]:
    """The experiment's (or the shared library's) skill that this subtask is, with its
    retrieval score: the same spec if there is one, else the nearest skill when its
    structure scores at least ``MATCH_STRUCTURE``; ``(None, best score)`` otherwise."""
    names = ctx.layout.object_names
    for owner in (ctx.experiment_id, None):
        same = skills.find_skill(s, spec=spec, scene=names, experiment_id=owner)
        if same is not None:
            return same, 1.0
    best = skills.nearest_skills(
        s, spec=spec, text=wording, k=1, status=ALIVE,
        scene=names, scope=_scope(ctx),
    )  # fmt: skip
    if not best:
        return None, None
    top = best[0]
    return (top.skill if top.structure >= MATCH_STRUCTURE else None), round(top.score, 4)
