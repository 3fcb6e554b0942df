"""``analyze``: the planner's verdict on every skill in training, checked against the numbers.

A skill is promoted only when the verdict is *learned* and its newest Wilson lower bound
reaches its bar; a *stalled* one is failed once it has had ``patience_steps`` env steps of
its own data (``patience_with_successes_steps`` when its own episodes succeed: it is slow,
not stuck), never the goal's skill.
"""

from __future__ import annotations

import logging

import skills
from experimenter.graph.context import Context
from experimenter.graph.nodes.shared import Update, goal_skill_id
from experimenter.graph.roster import training_skills
from experimenter.graph.state import LoopState
from experimenter.planner import AnalyzeInput, BudgetLine
from experimenter.planner.plots import curves_image, skill_progress
from storage import episodes, metrics
from storage.enums import DecidedBy, SkillStatus

log = logging.getLogger(__name__)

SUCCESSES_FOR_MORE_PATIENCE = 0.05
"""Share of a stalled skill's own episodes that must succeed for it to get the longer
patience. Its chain doing the task this often gives the policy examples to learn from: a
stacking rung's policy stayed at 0 % for ~60k env steps of its own data while its chain
succeeded 8-25 % of the time, then rose to 80 %; a rung whose data never succeeds has nothing
to learn from and is failed on the short patience, to be decomposed or retried later."""


def _budget_lines(ctx: Context, state: LoopState) -> list[BudgetLine]:
    s = ctx.settings
    return [
        BudgetLine(name="env steps", used=state.env_steps, limit=s.max_env_steps),
        BudgetLine(name="wall hours", used=round(ctx.wall_seconds() / 3600, 3), limit=s.max_hours),
        BudgetLine(name="planner dollars", used=round(state.dollars, 4), limit=s.max_usd),
    ]


def analyze(ctx: Context, state: LoopState) -> Update:
    """Ask for a verdict on every skill in training; promote, keep or fail each."""
    threshold = ctx.settings.threshold
    with ctx.db.reader() as s:
        ids = [k.id for k in training_skills(s, experiment_id=ctx.experiment_id)]
        progress = skill_progress(s, skill_ids=ids, experiment_id=ctx.experiment_id)
    # The goal's own skill is never failed as stalled: a goal-directed run gives up on its
    # goal only when a budget is spent (DESIGN.md, "The loop").
    goal_id = goal_skill_id(ctx)
    progress = [p for p in progress if p.points]  # judged once measured
    goal_bar = ctx.settings.threshold_of(True)
    if goal_bar != threshold:  # the goal is judged against its own bar, by the planner too
        progress = [
            p.model_copy(update={"threshold": goal_bar}) if p.skill_id == goal_id else p
            for p in progress
        ]
    if not progress:
        return {}
    answer = ctx.planner.analyze(
        AnalyzeInput(skills=progress, budgets=_budget_lines(ctx, state), threshold=threshold),
        images=[curves_image(progress, threshold=threshold), ctx.scene_image],
    )
    verdicts = answer.value.by_skill()
    agree = 0
    with ctx.db.session() as s:
        for p in progress:
            j = verdicts.get(p.skill_id)
            last = p.points[-1]
            measured = last.success_rate
            lower = last.lower_bound if last.lower_bound is not None else measured
            bar = ctx.settings.threshold_of(p.skill_id == goal_id)
            passes = lower >= bar  # promoted on the bound, never on a lucky handful
            if j is None:
                continue
            agree += int(passes == (j.verdict == "learned"))
            since = state.training_since.get(str(p.skill_id), 0)
            # Patience counts the skill's own data: with K skills in training each gets
            # about 1/K of the collection, and a rung that trains beside another must not
            # be failed on half the experience it would have had alone.
            own = episodes.collected_steps(
                s, experiment_id=ctx.experiment_id, skill_id=p.skill_id, from_env_step=since
            )
            won, tried = episodes.collected_successes(
                s, experiment_id=ctx.experiment_id, skill_id=p.skill_id, from_env_step=since
            )
            slow = tried > 0 and won >= SUCCESSES_FOR_MORE_PATIENCE * tried
            patience = (
                ctx.settings.patience_with_successes_steps if slow
                else ctx.settings.patience_steps
            )  # fmt: skip
            numbers = (
                f"measured {measured:.0%} over {last.episodes} episodes, 95 % lower bound "
                f"{lower:.0%} ({'goal threshold' if bar != threshold else 'threshold'} "
                f"{bar:.0%})"
            )
            if j.verdict == "learned" and passes:
                skills.set_status(
                    s, skill_id=p.skill_id, status=SkillStatus.LEARNED,
                    decided_by=DecidedBy.PLANNER, reason=f"planner: {j.reason}; {numbers}",
                    decision_id=answer.decision_id,
                )  # fmt: skip
            elif j.verdict == "learned":
                log.info(
                    "skill %d: planner says learned, numbers disagree: %s", p.skill_id, numbers
                )
            elif j.verdict == "stalled" and own >= patience and p.skill_id != goal_id:
                skills.set_status(
                    s, skill_id=p.skill_id, status=SkillStatus.FAILED,
                    decided_by=DecidedBy.PLANNER, decision_id=answer.decision_id,
                    reason=f"planner: stalled: {j.reason}; {numbers} after {own} env steps "
                    f"of its own data ({state.env_steps - since} in all), "
                    f"{won} of its {tried} episodes successful",
                )  # fmt: skip
            elif (
                j.verdict == "stalled"
                and own >= ctx.settings.patience_steps
                and p.skill_id != goal_id
            ):
                log.info(
                    "skill %d: stalled but kept training (%d of %d env steps of patience): "
                    "%d of its %d episodes succeeded", p.skill_id, own, patience, won, tried,
                )  # fmt: skip
        agreement = {"analyze_agreement": agree / len(progress)}
        metrics.record_metrics(
            s, experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
            step=state.env_steps, values=agreement,
        )  # fmt: skip
    ctx.events.metrics(agreement, step=state.env_steps)  # committed
    return {"dollars": state.dollars + answer.dollars}
