"""The learner's half of the iteration: ``collect`` data for the skills in training,
``train`` on it, ``evaluate`` each skill and close the iteration. Each runs up to the targets
``plan`` fixed, so a rerun after a crash finishes exactly what remained."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import skills
from experimenter.graph.context import Context
from experimenter.graph.nodes.shared import Update, goal_skill_id, save_learner, task_ids
from experimenter.graph.recipes import recipe
from experimenter.graph.roster import training_skills
from experimenter.graph.state import LoopState
from storage import artifacts, episodes, metrics, runs
from storage.enums import SkillStatus

log = logging.getLogger(__name__)

UPDATE_CHUNK = 250
"""Gradient updates between stop checks and progress-bar refreshes."""
EVAL_SEED = 1_000_000
"""Seed of the recorded evaluation video, and base of the evaluation episodes' seeds."""
EVAL_STRIDE = 1_000
"""Seeds set aside per iteration for its evaluations (``confirm_episodes`` at most)."""

GOLDEN = 0.6180339887498949
"""Rounds of collection pick their job by the golden-ratio sequence (see ``_pick``)."""


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
    ids = task_ids(ctx, [int(k) for k in state.weights])
    learner.set_weights({ids[int(k)]: w for k, w in state.weights.items()})
    remaining = state.collect_target - learner.env_steps
    if remaining <= 0:
        return save_learner(ctx, state)
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
            before = learner.env_steps
            first = before // round_steps
            # As many rounds at once as the executor has workers: each round is still picked
            # by its own index, so the data does not depend on how many run at once.
            count = min(ctx.executor.width, -(-(state.collect_target - before) // round_steps))
            batch = [
                replace(_pick(jobs, total, first + i), steps=round_steps) for i in range(count)
            ]
            try:
                finished = ctx.executor.collect(learner, batch)
                with ctx.db.session() as s:
                    for i, summaries in enumerate(finished):
                        for e in summaries:
                            episodes.record_episode(
                                s, steps=e.steps, total_return=e.total_return,
                                success=e.success, purpose=f"collect:{e.label}",
                                skill_id=e.skill_id, experiment_id=ctx.experiment_id,
                                iteration_id=state.iteration_id,
                                env_step=before + i * round_steps, worker=e.worker,
                            )  # fmt: skip
            except BaseException:
                # The learner may hold a round the database does not: it must never be
                # saved (the daemon saves it on the way out); the last checkpoint is reloaded.
                ctx.learners.drop()
                raise
            bar.update(learner.env_steps - before)
    return save_learner(ctx, state)


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


def train(ctx: Context, state: LoopState) -> Update:
    """Gradient updates on the whole replay, relabelled for the weighted skills."""
    learner = ctx.learners.get()
    ids = task_ids(ctx, [int(k) for k in state.weights])
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
        values = {f"train_{k}": v for k, v in last.items()}
        with ctx.db.session() as s:
            metrics.record_metrics(
                s, experiment_id=ctx.experiment_id, iteration_id=state.iteration_id,
                step=learner.env_steps, values=values,
            )  # fmt: skip
        ctx.events.metrics(values, step=learner.env_steps)  # committed: the same figures
    return save_learner(ctx, state)


def evaluate(ctx: Context, state: LoopState) -> Update:
    """Measure every skill in training (and the goal's skill); close the iteration."""
    learner = ctx.learners.get()
    with ctx.db.reader() as s:
        training = training_skills(s, experiment_id=ctx.experiment_id)
        targets = [k.id for k in training]
        words = {k.id: k.instruction for k in training}
        done = skills.evaluated_in(s, iteration_id=state.iteration_id or 0)
    ids = task_ids(ctx, targets)
    results = {}
    first, confirm = ctx.settings.eval_episodes, ctx.settings.confirm_episodes
    goal_id = goal_skill_id(ctx)
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
            f"iteration {state.iteration}: {counts[SkillStatus.LEARNED]} learned, "
            f"{counts[SkillStatus.TRAINING]} training, {learner.env_steps} env steps, "
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
    for sid, r in results.items():  # committed: the evaluations as stored
        ctx.events.evaluation(
            skill_id=sid, instruction=words[sid], success_rate=r.success_rate,
            mean_return=r.mean_return, step=learner.env_steps,
        )  # fmt: skip
    log.debug("%s", summary)  # the daemon reports it (the CLI prints it)
    return {"iteration_id": None, "summary": summary, "env_steps": learner.env_steps}
