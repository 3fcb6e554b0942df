"""The loop's nodes: each reads the state and the library, does one step, returns a
partial update. Data access goes through ``skills`` / ``storage`` (no SQL here).

Every node can be run again after a crash without doing its work twice: iterations are
reopened rather than renumbered, proposals and decompositions of the current iteration are
reused, evaluations already stored for the iteration are kept, and collection and training
run up to targets fixed by ``plan`` (so a restart finishes exactly what remained).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import skills
from experimenter.graph.context import Context
from experimenter.graph.library import (
    accept_task,
    learned_policy_skills,
    recipe,
    retries_due,
    retry_tag,
    training_skills,
)
from experimenter.graph.state import LoopState
from experimenter.planner import (
    AnalyzeInput,
    BudgetLine,
    DecomposeInput,
    LibrarySkill,
    ProposeInput,
    Rejection,
    vet_proposals,
)
from experimenter.planner.plots import curves_image, skill_progress
from experimenter.planner.proposals import AcceptedTask
from storage import artifacts, episodes, metrics, proposals, runs
from tasks import TaskSpec

log = logging.getLogger(__name__)

Update = dict[str, Any]
Node = Callable[[LoopState], Update]


def _timed(ctx: Context, name: str, fn: Callable[[Context, LoopState], Update]) -> Node:
    """The node ``fn`` bound to ``ctx``; adds its wall time and the run's totals to the update."""

    def node(state: LoopState) -> Update:
        start = time.monotonic()
        update = fn(ctx, state)
        seconds = dict(state.node_seconds)
        seconds[name] = seconds.get(name, 0.0) + time.monotonic() - start
        return {**update, "node": name, "node_seconds": seconds, "wall_seconds": ctx.wall_seconds()}

    node.__name__ = name
    return node


def _budget_lines(ctx: Context, state: LoopState) -> list[BudgetLine]:
    s = ctx.settings
    return [
        BudgetLine(name="env steps", used=state.env_steps, limit=s.max_env_steps),
        BudgetLine(name="wall hours", used=round(ctx.wall_seconds() / 3600, 3), limit=s.max_hours),
        BudgetLine(name="planner dollars", used=round(state.dollars, 4), limit=s.max_usd),
    ]


# --- monitor ------------------------------------------------------------------------------


def monitor(ctx: Context, state: LoopState) -> Update:
    """Open the iteration (or reopen the one a crash interrupted) and mark the run alive."""
    with ctx.db.session() as s:
        it = runs.current_iteration(s, experiment_id=ctx.experiment_id)
        if it is None:
            it = runs.start_iteration(s, experiment_id=ctx.experiment_id)
        runs.set_experiment_status(s, experiment_id=ctx.experiment_id, status="running")
        runs.heartbeat(
            s, experiment_id=ctx.experiment_id, env_steps=state.env_steps,
            wall_seconds=ctx.wall_seconds(), dollars=state.dollars,
        )  # fmt: skip
        iteration_id, number = it.id, it.number
    ctx.planner.new_iteration()
    ctx.recorder.iteration_id = iteration_id
    return {"iteration_id": iteration_id, "iteration": number}


# --- analyze ------------------------------------------------------------------------------


def _goal_skill_id(ctx: Context) -> int | None:
    """The experiment's skill for its goal, once in the library (None without a goal)."""
    if ctx.goal is None:
        return None
    with ctx.db.reader() as s:
        found = skills.find_skill(
            s, spec=ctx.goal, scene=ctx.layout.object_names, experiment_id=ctx.experiment_id
        )
    return found.id if found is not None else None


def analyze(ctx: Context, state: LoopState) -> Update:
    """Ask for a verdict on every skill in training; promote, keep or fail each."""
    threshold = ctx.settings.threshold
    with ctx.db.reader() as s:
        ids = [k.id for k in training_skills(s, experiment_id=ctx.experiment_id)]
        progress = skill_progress(s, skill_ids=ids, experiment_id=ctx.experiment_id)
    # The goal's own skill is never failed as stalled: a goal-directed run gives up on its
    # goal only when a budget is spent (DESIGN.md, "The loop").
    goal_id = _goal_skill_id(ctx)
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
            numbers = (
                f"measured {measured:.0%} over {last.episodes} episodes, 95 % lower bound "
                f"{lower:.0%} ({'goal threshold' if bar != threshold else 'threshold'} "
                f"{bar:.0%})"
            )
            if j.verdict == "learned" and passes:
                skills.set_status(
                    s, skill_id=p.skill_id, status="learned", decided_by="planner",
                    reason=f"planner: {j.reason}; {numbers}", decision_id=answer.decision_id,
                )  # fmt: skip
            elif j.verdict == "learned":
                log.info(
                    "skill %d: planner says learned, numbers disagree: %s", p.skill_id, numbers
                )
            elif (
                j.verdict == "stalled"
                and own >= ctx.settings.patience_steps
                and p.skill_id != goal_id
            ):
                skills.set_status(
                    s, skill_id=p.skill_id, status="failed", decided_by="planner",
                    reason=f"planner: stalled: {j.reason}; {numbers} after {own} env steps "
                    f"of its own data ({state.env_steps - since} in all)",
                    decision_id=answer.decision_id,
                )  # fmt: skip
        metrics.record_metrics(
            s, experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
            step=state.env_steps, values={"analyze_agreement": agree / len(progress)},
        )  # fmt: skip
    return {"dollars": state.dollars + answer.dollars}


# --- propose ------------------------------------------------------------------------------


PROMPT_LIBRARY = 60
"""Most library skills listed in one prompt: the experiment's own skills and the shared
primitives in the propose prompt, the nearest ones to the task in the decompose prompt."""
MATCH_STRUCTURE = 0.95
"""Structural similarity (``skills.retrieval``: atoms, predicates, objects, parameters) at
which a subtask is taken to be the nearest existing skill. 1.0 is the same spec; a lift 1 mm
off of 11 cm scores 0.99, 5 % off 0.96, 10 % off 0.93; ``on(red, blue)`` against
``on(red, blue)`` plus ``released(red)`` 0.65; another object or predicate below 0.7. The
wording only ranks the candidates: a model's words vary more than its specs."""


def _scope(ctx: Context) -> list[int | None]:
    """The skills this experiment may use: its own, and the shared library's."""
    return [ctx.experiment_id, None]


def _as_library(s: Any, rows: list[skills.SkillPublic]) -> list[LibrarySkill]:
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


def _own_library(ctx: Context, s: Any) -> list[LibrarySkill]:
    """What the propose prompt lists: the experiment's learned, training and failed skills
    (newest evaluations first) and the shared primitives, at most ``PROMPT_LIBRARY``."""
    own = skills.list_skills(s, experiment_id=ctx.experiment_id, limit=10_000)
    own = [k for k in own if k.status != "proposed"]
    own.sort(key=lambda k: (k.status != "learned", -(k.success_rate or 0.0), k.id))
    shared = skills.list_skills(s, kind="primitive", limit=10_000)
    shared = [k for k in shared if k.experiment_id is None]
    return _as_library(s, (own + shared)[:PROMPT_LIBRARY])


def _known_hashes(ctx: Context, s: Any) -> dict[str, str]:
    """Spec hash -> instruction of every skill the experiment has (its own and the shared
    library): a proposal repeating one of these is a duplicate."""
    own = skills.list_skills(s, experiment_id=ctx.experiment_id, limit=10_000)
    shared = [k for k in skills.list_skills(s, limit=10_000) if k.experiment_id is None]
    return {k.spec_hash: k.instruction for k in [*shared, *own]}


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
    return _as_library(s, list(found.values())[:PROMPT_LIBRARY])


def propose(ctx: Context, state: LoopState) -> Update:
    """Ask for new tasks (as many as free training slots), vet them, record every one."""
    with ctx.db.reader() as s:
        done = proposals.list_tasks(s, iteration_id=state.iteration_id)
        if done:  # proposed before a crash: decompose those still waiting, ask nothing again
            return {"new_tasks": [t.id for t in done if t.status == "proposed"]}
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


# --- decompose / retrieve -----------------------------------------------------------------


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
                s, spec=spec, kind="learned", scene=ctx.layout.object_names,
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
                        s, spec=sub_spec, kind="learned", scene=ctx.layout.object_names,
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
                    s, task_id=task_id, decided_by="planner",
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
        s, spec=spec, text=wording, k=1, status=("proposed", "training", "learned", "failed"),
        scene=names, scope=_scope(ctx),
    )  # fmt: skip
    if not best:
        return None, None
    top = best[0]
    return (top.skill if top.structure >= MATCH_STRUCTURE else None), round(top.score, 4)


# --- review -------------------------------------------------------------------------------


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
                if t.status == "proposed"
            ]
        if not waiting:
            return {"new_tasks": []}
        interrupt({"review": waiting})


# --- plan ---------------------------------------------------------------------------------


def _task_ids(ctx: Context, skill_ids: list[int]) -> dict[int, int]:
    """Each skill's task in the learner (added on first sight; idempotent)."""
    learner = ctx.learners.get()
    with ctx.db.reader() as s:
        specs = skills.skill_specs(s, skill_ids=skill_ids)
    return {sid: learner.add_task(specs[sid]) for sid in skill_ids}


def _train_goal(ctx: Context) -> int | None:
    """Put the goal's own skill into training (added to the library if need be); its id, or
    None when it can no longer train (learned)."""
    given = ctx.settings.goal
    assert given is not None
    with ctx.db.session() as s:
        goal = skills.add_skill(
            s, spec=given.spec, kind="learned", scene=ctx.layout.object_names,
            wording=given.text, experiment_id=ctx.experiment_id,
            reason="the experiment's goal",
        )  # fmt: skip
        if goal.status not in ("proposed", "training"):  # learned, or (never by us) failed
            return None
        if goal.status == "proposed":
            skills.set_status(
                s, skill_id=goal.id, status="training", decided_by="numbers",
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
    with ctx.db.session() as s:  # a failed rung is retried once the library has grown
        retried = retries_due(
            s, experiment_id=ctx.experiment_id, retries=ctx.settings.retries, limit=free,
            iteration=state.iteration,
        )  # fmt: skip
        for sid, why in retried:
            skills.set_status(s, skill_id=sid, status="training", decided_by="numbers", reason=why)
            log.info("skill %d trains again: %s", sid, why)
        training += [sid for sid, _ in retried]
        if not training and ctx.goal is None:
            # Open-ended and nothing trains: the failed rungs are all that is left to climb.
            stuck = retries_due(
                s, experiment_id=ctx.experiment_id, retries=ctx.settings.retries,
                limit=ctx.settings.max_training, iteration=state.iteration, stuck=True,
            )  # fmt: skip
            for sid, why in stuck:
                skills.set_status(
                    s, skill_id=sid, status="training", decided_by="numbers", reason=why
                )
                log.info("skill %d trains again: %s", sid, why)
            training += [sid for sid, _ in stuck]
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
    if ctx.settings.forgetting_weight > 0:
        weights.update({str(k): ctx.settings.forgetting_weight for k in learned})
    learner = ctx.learners.get()
    _task_ids(ctx, [int(k) for k in weights])
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


# --- collect ------------------------------------------------------------------------------


def _save_learner(ctx: Context, state: LoopState) -> Update:
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


def collect(ctx: Context, state: LoopState) -> Update:
    """Execute skills for data until the learner reaches the collection target.

    Per skill in training: its decomposition executed with the library's skills (policy for
    the new part), the same with the new part scripted when primitives match it exactly,
    and the policy alone. Every episode goes into the replay and the episodes table.
    """
    from experimenter.executor import CollectJob, split_steps

    learner = ctx.learners.get()
    # Rows of rounds the learner's checkpoint lacks (a crash after they were committed, before
    # the learner was saved): their data is gone from the replay and is collected again.
    with ctx.db.session() as s:
        stale = episodes.discard_collected_episodes(
            s, experiment_id=ctx.experiment_id, from_env_step=learner.env_steps
        )
    if stale:
        log.info("collect: %d episode rows past the learner's %d env steps discarded (redone)",
                 stale, learner.env_steps)  # fmt: skip
    ids = _task_ids(ctx, [int(k) for k in state.weights])
    learner.set_weights({ids[int(k)]: w for k, w in state.weights.items()})
    remaining = state.collect_target - learner.env_steps
    if remaining <= 0:
        return _save_learner(ctx, state)
    jobs: list[CollectJob] = []
    shares = split_steps(remaining, [1.0] * len(state.collecting))
    with ctx.db.reader() as s:
        for sid, share in zip(state.collecting, shares, strict=True):
            variants: list[tuple[str, Any]] = []
            frac = ctx.settings.chain_fraction
            for label, scripted in (("chain", False), ("demo", True)):
                parts = recipe(s, skill_id=sid, task_ids=ids, layout=ctx.layout, scripted=scripted)
                if parts is not None:
                    variants.append((label, parts))
            per = split_steps(share, [frac / max(1, len(variants))] * len(variants) + [1 - frac])
            if not variants:
                per = [share]
            for (label, parts), n in zip([*variants, ("policy", None)], per, strict=False):
                if n > 0:
                    jobs.append(
                        CollectJob(sid, ids[sid], n, parts, ctx.settings.noise if parts else 0.0,
                                   label)
                    )  # fmt: skip
    round_steps = learner.cfg.num_envs * learner.cfg.episode_steps
    total = sum(j.steps for j in jobs)
    with ctx.progress(total=remaining, desc=f"collect {state.iteration}", unit="step") as bar:
        while learner.env_steps < state.collect_target:
            ctx.check_stop()
            job = _pick(jobs, total, learner.env_steps // round_steps)
            before = learner.env_steps
            step_job = CollectJob(job.skill_id, job.task_id, round_steps, job.parts, job.noise,
                                  job.label)  # fmt: skip
            try:
                finished = ctx.executor.collect(learner, step_job)
                with ctx.db.session() as s:
                    for e in finished:
                        episodes.record_episode(
                            s, steps=e.steps, total_return=e.total_return, success=e.success,
                            purpose=f"collect:{e.label}", skill_id=e.skill_id,
                            experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
                            env_step=before,
                        )  # fmt: skip
            except BaseException:
                # The learner may hold a round the database does not: it must never be
                # saved (the daemon saves it on the way out); the last checkpoint is reloaded.
                ctx.learners.drop()
                raise
            bar.update(learner.env_steps - before)
    return _save_learner(ctx, state)


GOLDEN = 0.6180339887498949


def _pick(jobs: list[Any], total: int, round_index: int) -> Any:
    """The job collection round ``round_index`` runs: the golden-ratio sequence over the
    jobs' shares, so every job gets its share over a few rounds whatever the round size,
    with no bookkeeping to checkpoint (the round index is the learner's own env steps)."""
    u = (round_index * GOLDEN) % 1.0 * total
    for job in jobs:
        u -= job.steps
        if u < 0:
            return job
    return jobs[-1]


# --- train --------------------------------------------------------------------------------

UPDATE_CHUNK = 250
"""Gradient updates between stop checks and progress-bar refreshes."""
EVAL_SEED = 1_000_000
"""Seed of the recorded evaluation video, and base of the evaluation episodes' seeds."""
EVAL_STRIDE = 1_000
"""Seeds set aside per iteration for its evaluations (``confirm_episodes`` at most)."""


def train(ctx: Context, state: LoopState) -> Update:
    """Gradient updates on the whole replay, relabelled for the weighted skills."""
    learner = ctx.learners.get()
    ids = _task_ids(ctx, [int(k) for k in state.weights])
    learner.set_weights({ids[int(k)]: w for k, w in state.weights.items()})
    remaining = state.update_target - learner.updates
    last: dict[str, float] = {}  # the newest chunk's losses and figures
    if remaining > 0:
        with ctx.progress(total=remaining, desc=f"train {state.iteration}", unit="upd") as bar:
            while learner.updates < state.update_target:
                ctx.check_stop()
                n = min(UPDATE_CHUNK, state.update_target - learner.updates)
                last = learner.update(n)
                bar.update(n)
        with ctx.db.session() as s:
            metrics.record_metrics(
                s, experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
                step=learner.env_steps, values={f"train_{k}": v for k, v in last.items()},
            )  # fmt: skip
    return _save_learner(ctx, state)


# --- evaluate -----------------------------------------------------------------------------


def evaluate(ctx: Context, state: LoopState) -> Update:
    """Measure every skill in training (and the goal's skill); close the iteration."""
    learner = ctx.learners.get()
    with ctx.db.reader() as s:
        targets = [k.id for k in training_skills(s, experiment_id=ctx.experiment_id)]
        done = skills.evaluated_in(s, iteration_id=state.iteration_id or 0)
    ids = _task_ids(ctx, targets)
    results = {}
    first, confirm = ctx.settings.eval_episodes, ctx.settings.confirm_episodes
    goal_id = _goal_skill_id(ctx)
    # Fresh starts every iteration (a crash reruns the same ones): a policy is never judged on
    # the start states it was judged on before.
    seed = EVAL_SEED + state.iteration * EVAL_STRIDE
    for sid in targets:
        if sid in done:
            continue
        ctx.check_stop()
        r = ctx.executor.evaluate(learner, ids[sid], first, seed)
        if r.success_rate >= ctx.settings.threshold_of(sid == goal_id) and confirm > first:
            # At the threshold: measured again on more starts, so that promotion rests on a
            # bound over enough episodes rather than on a lucky handful.
            more = ctx.executor.evaluate(learner, ids[sid], confirm - first, seed + first)
            r = replace(
                r, episodes=r.episodes + more.episodes, successes=r.successes + more.successes,
                mean_return=(r.mean_return * r.episodes + more.mean_return * more.episodes)
                / (r.episodes + more.episodes),
            )  # fmt: skip
        results[sid] = r
    videos = {}
    every, store = ctx.settings.video_every, ctx.db.artifacts
    if every and state.iteration % every == 0 and store is not None:
        for sid in results:
            videos[sid] = ctx.executor.rollout(learner, ids[sid], EVAL_SEED)
    with ctx.db.session() as s:
        for sid, v in videos.items():
            assert store is not None  # videos are made only with an artifact store
            gif = artifacts.save_artifact(
                s, store=store, data=v.gif, media_type="image/gif",
                name=f"skill{sid}_iter{state.iteration}.gif",
            )  # fmt: skip
            episodes.record_episode(
                s, steps=v.steps, total_return=v.total_return, success=v.success,
                purpose="evaluate", seed=EVAL_SEED, skill_id=sid, video_sha256=gif.sha256,
                experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
            )  # fmt: skip
        for sid, r in results.items():
            skills.record_evaluation(
                s, skill_id=sid, episodes=r.episodes, successes=r.successes,
                mean_return=r.mean_return, env_steps=learner.env_steps,
                experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
            )  # fmt: skip
        counts = skills.status_counts(s, experiment_id=ctx.experiment_id)
        rates = {sid: r.success_rate for sid, r in results.items()}
        summary = (
            f"iteration {state.iteration}: {counts['learned']} learned, "
            f"{counts['training']} training, {learner.env_steps} env steps, "
            f"${state.dollars:.4f}; "
            + (", ".join(f"skill {k} {v:.0%}" for k, v in rates.items()) or "nothing measured")
        )
        if state.iteration_id is not None:
            it = runs.current_iteration(s, experiment_id=ctx.experiment_id)
            if it is not None and it.id == state.iteration_id:
                runs.finish_iteration(
                    s, iteration_id=it.id, env_steps=learner.env_steps,
                    summary={"line": summary, "success": {str(k): v for k, v in rates.items()}},
                )  # fmt: skip
        runs.heartbeat(
            s, experiment_id=ctx.experiment_id, env_steps=learner.env_steps,
            wall_seconds=ctx.wall_seconds(), dollars=state.dollars,
        )  # fmt: skip
    log.debug("%s", summary)  # the daemon reports it (the CLI prints it)
    return {"iteration_id": None, "summary": summary, "env_steps": learner.env_steps}


# --- finish -------------------------------------------------------------------------------


def finish(ctx: Context, state: LoopState) -> Update:
    """Record why the loop ended."""
    from experimenter.graph.routers import stop_reason

    reason = state.stop_reason or stop_reason(ctx, state) or "stopped"
    with ctx.db.session() as s:
        runs.set_experiment_status(
            s, experiment_id=ctx.experiment_id, status="finished", reason=reason
        )
    log.info("experiment %d finished: %s", ctx.experiment_id, reason)
    return {"stop_reason": reason}


NODES: dict[str, Callable[[Context, LoopState], Update]] = {
    "monitor": monitor,
    "analyze": analyze,
    "propose": propose,
    "decompose": decompose,
    "review": review,
    "plan": plan,
    "collect": collect,
    "train": train,
    "evaluate": evaluate,
    "finish": finish,
}
"""Node name -> step, in loop order."""


def bind(ctx: Context) -> dict[str, Node]:
    """Every node bound to ``ctx``, timed."""
    return {name: _timed(ctx, name, fn) for name, fn in NODES.items()}
