"""Where the loop goes next: each router reads the state and the library and names a node."""

from __future__ import annotations

from typing import Literal

import skills
from experimenter.graph.context import Context
from experimenter.graph.roster import training_skills
from experimenter.graph.state import LoopState
from storage.enums import SkillStatus


def stop_reason(ctx: Context, state: LoopState) -> str | None:
    """Why the loop must stop now (a budget spent, the goal learned), or None."""
    s = ctx.settings
    if state.stop_reason:
        return state.stop_reason
    if s.max_env_steps is not None and state.env_steps >= s.max_env_steps:
        return f"env step budget spent: {state.env_steps} of {s.max_env_steps}"
    if s.max_hours is not None and ctx.wall_seconds() >= s.max_hours * 3600:
        return f"wall time budget spent: {ctx.wall_seconds() / 3600:.2f} of {s.max_hours} hours"
    if s.max_usd is not None and state.dollars >= s.max_usd:
        return f"planner dollar budget spent: ${state.dollars:.4f} of ${s.max_usd:.2f}"
    goal = ctx.goal
    if goal is not None:
        with ctx.db.reader() as session:
            found = skills.find_skill(
                session, spec=goal, scene=ctx.layout.object_names, experiment_id=ctx.experiment_id
            )
        if found is not None and found.status == SkillStatus.LEARNED:
            return f"goal learned: {found.instruction}"
    return None


def after_analyze(ctx: Context, state: LoopState) -> Literal["propose", "plan", "finish"]:
    """Stop on a budget or the goal; propose only while fewer than K skills train."""
    if stop_reason(ctx, state):
        return "finish"
    with ctx.db.reader() as s:
        training = len(training_skills(s, experiment_id=ctx.experiment_id))
    return "propose" if training < ctx.settings.max_training else "plan"


def after_propose(ctx: Context, state: LoopState) -> Literal["decompose", "plan"]:
    """Decompose what was proposed; with nothing new, train what there is."""
    return "decompose" if state.new_tasks else "plan"


def after_decompose(ctx: Context, state: LoopState) -> Literal["review", "plan"]:
    """A person reviews the proposals only in review mode."""
    return "review" if ctx.settings.review and state.new_tasks else "plan"


def after_plan(ctx: Context, state: LoopState) -> Literal["collect", "finish"]:
    """Nothing to train (and nothing could be proposed): the curriculum is exhausted."""
    return "finish" if state.stop_reason else "collect"


def after_evaluate(ctx: Context, state: LoopState) -> Literal["monitor", "finish"]:
    """Another iteration unless a budget is spent or the goal is learned."""
    return "finish" if stop_reason(ctx, state) else "monitor"
