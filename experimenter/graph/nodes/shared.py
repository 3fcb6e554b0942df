"""What more than one node needs: the update type, the goal's skill, each skill's task in
the learner, the library as a prompt lists it, and saving the learner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import skills
from experimenter.graph.context import Context
from experimenter.graph.state import LoopState
from experimenter.planner import LibrarySkill

Update = dict[str, Any]
"""A node's partial update of ``LoopState`` (field name -> new value)."""
Node = Callable[[LoopState], Update]
"""A node bound to its context, as the graph runs it."""

PROMPT_LIBRARY = 60
"""Most library skills listed in one prompt: the experiment's own skills and the shared
primitives in the propose prompt, the nearest ones to the task in the decompose prompt."""


def goal_skill_id(ctx: Context) -> int | None:
    """The experiment's skill for its goal, once in the library (None without a goal)."""
    if ctx.goal is None:
        return None
    with ctx.db.reader() as s:
        found = skills.find_skill(
            s, spec=ctx.goal, scene=ctx.layout.object_names, experiment_id=ctx.experiment_id
        )
    return found.id if found is not None else None


def task_ids(ctx: Context, skill_ids: list[int]) -> dict[int, int]:
    """Each skill's task in the learner (added on first sight; idempotent)."""
    learner = ctx.learners.get()
    with ctx.db.reader() as s:
        specs = skills.skill_specs(s, skill_ids=skill_ids)
    return {sid: learner.add_task(specs[sid]) for sid in skill_ids}


def as_library(s: Any, rows: list[skills.SkillPublic]) -> list[LibrarySkill]:
    """``rows`` as a prompt lists them: instruction, spec, status and success rate."""
    specs = skills.skill_specs(s, skill_ids=[k.id for k in rows])
    return [
        LibrarySkill(
            skill_id=k.id,
            instruction=k.instruction,
            spec=specs[k.id],
            spec_hash=k.spec_hash,
            status=k.status,
            success_rate=k.success_rate,
        )
        for k in rows
    ]


def save_learner(ctx: Context, state: LoopState) -> Update:
    """Save the learner (a ``checkpoints`` row too); the update naming the checkpoint."""
    from experimenter.checkpoints import record_learner_checkpoint

    learner = ctx.learners.get()
    folder = ctx.learners.save()
    checkpoint_id = record_learner_checkpoint(
        ctx.db, experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
        folder=folder, env_steps=learner.env_steps, updates=learner.updates,
    )  # fmt: skip
    return {
        "learner_checkpoint": str(folder),
        "learner_checkpoint_id": checkpoint_id,
        "env_steps": learner.env_steps,
    }
