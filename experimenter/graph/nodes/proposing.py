"""``propose`` asks for new tasks and records every proposal; ``review`` waits until a
person approved or rejected each one (review mode only)."""

from __future__ import annotations

from typing import Any

import skills
from experimenter.graph.context import Context
from experimenter.graph.nodes.shared import PROMPT_LIBRARY, Update, as_library
from experimenter.graph.roster import retries_due, training_skills
from experimenter.graph.state import LoopState
from experimenter.planner import LibrarySkill, ProposeInput, Rejection, vet_proposals
from experimenter.planner.proposals import AcceptedTask
from storage import proposals
from storage.enums import SkillKind, SkillStatus, TaskStatus


def _own_library(ctx: Context, s: Any) -> list[LibrarySkill]:
    """What the propose prompt lists: the experiment's learned, training and failed skills
    (newest evaluations first) and the shared primitives, at most ``PROMPT_LIBRARY``."""
    own = skills.list_skills(s, experiment_id=ctx.experiment_id, limit=10_000)
    own = [k for k in own if k.status != SkillStatus.PROPOSED]
    own.sort(key=lambda k: (k.status != SkillStatus.LEARNED, -(k.success_rate or 0.0), k.id))
    shared = skills.list_skills(s, kind=SkillKind.PRIMITIVE, limit=10_000)
    shared = [k for k in shared if k.experiment_id is None]
    return as_library(s, (own + shared)[:PROMPT_LIBRARY])


def _known_hashes(ctx: Context, s: Any) -> dict[str, str]:
    """Spec hash -> instruction of every skill the experiment has (its own and the shared
    library): a proposal repeating one of these is a duplicate."""
    own = skills.list_skills(s, experiment_id=ctx.experiment_id, limit=10_000)
    shared = [k for k in skills.list_skills(s, limit=10_000) if k.experiment_id is None]
    return {k.spec_hash: k.instruction for k in [*shared, *own]}


def propose(ctx: Context, state: LoopState) -> Update:
    """Ask for new tasks (as many as free training slots), vet them, record every one."""
    with ctx.db.reader() as s:
        done = proposals.list_tasks(s, iteration_id=state.iteration_id)
        if done:  # proposed before a crash: decompose those still waiting, ask nothing again
            return {"new_tasks": [t.id for t in done if t.status == TaskStatus.PROPOSED]}
        free = ctx.settings.max_training - len(training_skills(s, experiment_id=ctx.experiment_id))
        # A failed skill due for a retry takes a free slot before anything new (plan).
        due = retries_due(
            s, experiment_id=ctx.experiment_id, retries=ctx.settings.retries, limit=free,
            iteration=state.iteration,
        )  # fmt: skip
        if len(due) >= free:
            return {"new_tasks": []}
        # Plain values, read inside the transaction (rows are detached once it ends).
        rejections = [
            Rejection(instruction=t.wording or t.instruction or "", reason=t.verdict or "")
            for t in proposals.recent_rejections(s, experiment_id=ctx.experiment_id, limit=10)
        ]
        library = _own_library(ctx, s)
        known = _known_hashes(ctx, s)
    goal = ctx.settings.goal
    inp = ProposeInput(
        objects=list(ctx.layout.object_names),
        library=library,
        rejections=rejections,
        goal=goal.spec if goal is not None else None,
        goal_instruction=goal.text if goal is not None else None,
        count=max(1, min(10, free - len(due))),
    )  # fmt: skip
    answer = ctx.planner.propose(inp, images=[ctx.scene_image])
    review = vet_proposals(answer.value, scene=ctx.layout.object_names, known=known)
    vetted = [(answer.decision_id, v) for v in [*review.accepted, *review.rejected]]
    if not review.accepted and answer.backend != "offline":
        # Nothing the model proposed can be trained (all invalid or duplicates): the rules
        # propose instead, so that a model's mistakes never end the curriculum. The model's
        # rejections are kept (and shown to it next time).
        why = f"no acceptable proposal from {answer.backend}: " + "; ".join(
            f"{r.wording!r} {r.status}" for r in review.rejected
        )
        rules = ctx.planner.ask_offline(inp, reason=why)
        again = vet_proposals(rules.value, scene=ctx.layout.object_names, known=known)
        vetted += [(rules.decision_id, v) for v in [*again.accepted, *again.rejected]]
    new = _record_proposals(ctx, state, vetted)
    return {"new_tasks": new, "dollars": state.dollars + answer.dollars}


def _record_proposals(
    ctx: Context, state: LoopState, vetted: list[tuple[int | None, Any]]
) -> list[int]:
    """Store vetted proposals (with the decision that made each) as tasks, in one
    transaction; returns the ids of the accepted ones."""
    new: list[int] = []
    with ctx.db.session() as s:
        for decision_id, a in vetted:
            if isinstance(a, AcceptedTask):
                task = proposals.record_task(
                    s, spec=a.spec.model_dump(mode="json", exclude_none=True),
                    spec_hash=a.spec_hash, instruction=a.instruction, wording=a.wording,
                    reason=a.rationale, decision_id=decision_id,
                    experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
                )  # fmt: skip
                new.append(task.id)
            else:
                proposals.record_task(
                    s, spec=a.spec, spec_hash=None, instruction=None, wording=a.wording,
                    status=a.status, verdict=a.reason, decision_id=decision_id,
                    experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
                )  # fmt: skip
    return new


def review(ctx: Context, state: LoopState) -> Update:
    """Wait (a LangGraph interrupt) until a person approved or rejected every new task.

    Approvals arrive through the commands table; the daemon applies them to the library and
    resumes the graph, and this node checks that nothing is left undecided.
    """
    from langgraph.types import interrupt

    while True:
        with ctx.db.reader() as s:
            waiting = [
                t.id
                for t in (proposals.get_task(s, task_id=i) for i in state.new_tasks)
                if t.status == TaskStatus.PROPOSED
            ]
        if not waiting:
            return {"new_tasks": []}
        interrupt({"review": waiting})
