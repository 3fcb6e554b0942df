"""``plan``: which skills train this iteration, with what weights, and how far collection and
training go (targets a rerun after a crash finishes exactly)."""

from __future__ import annotations

import logging

import skills
from experimenter.graph.context import Context
from experimenter.graph.nodes.shared import Update, task_ids
from experimenter.graph.roster import (
    learned_policy_skills,
    retries_due,
    retry_tag,
    training_skills,
)
from experimenter.graph.state import LoopState
from storage.enums import DecidedBy, SkillKind, SkillStatus

log = logging.getLogger(__name__)


def _train_goal(ctx: Context) -> int | None:
    """Put the goal's own skill into training (added to the library if need be); its id, or
    None when it can no longer train (learned)."""
    given = ctx.settings.goal
    assert given is not None
    with ctx.db.session() as s:
        goal = skills.add_skill(
            s, spec=given.spec, kind=SkillKind.LEARNED, scene=ctx.layout.object_names,
            wording=given.text, experiment_id=ctx.experiment_id,
            reason="the experiment's goal",
        )  # fmt: skip
        if goal.status not in (SkillStatus.PROPOSED, SkillStatus.TRAINING):  # learned (or failed)
            return None
        if goal.status == SkillStatus.PROPOSED:
            skills.set_status(
                s, skill_id=goal.id, status=SkillStatus.TRAINING, decided_by=DecidedBy.NUMBERS,
                reason="the goal is trained until a budget ends the run: nothing else is "
                "left to train",
            )  # fmt: skip
    return goal.id


def plan(ctx: Context, state: LoopState) -> Update:
    """Training weights per skill and this iteration's collection and update targets."""
    with ctx.db.reader() as s:
        training = [k.id for k in training_skills(s, experiment_id=ctx.experiment_id)]
        learned = [k.id for k in learned_policy_skills(s, experiment_id=ctx.experiment_id)]
    free = ctx.settings.max_training - len(training)
    # Open-ended with nothing in training, the failed rungs are all that is left to climb:
    # they are retried without waiting for the library to grow.
    stuck = not training and ctx.goal is None
    with ctx.db.session() as s:  # a failed rung is retried once the library has grown
        retried = retries_due(
            s, experiment_id=ctx.experiment_id, retries=ctx.settings.retries, limit=free,
            iteration=state.iteration, stuck=stuck,
        )  # fmt: skip
        for sid, why in retried:
            skills.set_status(
                s, skill_id=sid, status=SkillStatus.TRAINING, decided_by=DecidedBy.NUMBERS,
                reason=why,
            )  # fmt: skip
            log.info("skill %d trains again: %s", sid, why)
        training += [sid for sid, _ in retried]
        # Retried in this iteration before a crash too: patience restarts for those as well.
        tag = retry_tag(state.iteration)
        restarted = {
            k for k, history in skills.status_histories(s, skill_ids=training).items()
            if history and history[-1].reason.startswith(tag)
        }  # fmt: skip
    if not training and ctx.goal is not None:
        # A goal-directed run gives up its goal only on a budget: with nothing else left,
        # the goal itself is trained (DESIGN.md, "The loop").
        goal = _train_goal(ctx)
        training = [goal] if goal is not None else []
    if not training:
        return {"stop_reason": "nothing left to train: no skill in training, none proposed"}
    weights = {str(k): 1.0 for k in training}
    if ctx.settings.forgetting_weight > 0 and learned:
        # Learned skills together weigh at most forgetting_total: with fifteen learned and
        # two in training at 0.2 each, a training rung got a fifth of each batch, about half
        # of what the same rung got in a goal-directed run with four learned.
        each = min(ctx.settings.forgetting_weight, ctx.settings.forgetting_total / len(learned))
        weights.update({str(k): each for k in learned})
    learner = ctx.learners.get()
    task_ids(ctx, [int(k) for k in weights])
    steps = ctx.settings.collect_steps
    target = learner.env_steps + steps
    updates = 0
    if target >= learner.cfg.random_steps // 2:
        updates = max(1, int(steps * ctx.settings.updates_per_step))
    since = dict(state.training_since)
    for k in training:
        since.setdefault(str(k), learner.env_steps)
    for k in restarted:  # patience counts again from the retry
        since[str(k)] = learner.env_steps
    return {
        "weights": weights,
        "collecting": training,
        "collect_target": target,
        "update_target": learner.updates + updates,
        "training_since": since,
    }
