"""The loop's nodes under a model that errs the way real ones do, through the real openai
client and a fake chat-completions server on 127.0.0.1: duplicates, objects not in the
scene, ``on(red, red)``, a decomposition that leaves the task out, a verdict on a skill that
does not exist; and a second experiment on the same database.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from planner_fakes import FakeServer, openai_ok, serve
from sqlalchemy import select

import skills
from experimenter.executor import InProcessExecutor
from experimenter.graph.context import Context
from experimenter.graph.nodes import analyze, decompose, plan
from experimenter.graph.nodes import propose as propose_node
from experimenter.graph.nodes.shared import PROMPT_LIBRARY
from experimenter.graph.roster import reject_task, seed_library
from experimenter.graph.routers import stop_reason
from experimenter.graph.state import LoopState
from experimenter.learner_store import LearnerStore
from experimenter.planner import DatabaseRecorder, Planner, PlannerSettings
from experimenter.status import experiment_status
from settings import LoopSettings
from storage import Database, runs
from storage.episodes import record_episode
from storage.models import Decision
from storage.proposals import decomposition_steps, list_tasks, record_decomposition, record_task


def spec(*atoms: tuple[Any, ...], **params: float) -> dict[str, Any]:
    """A one-stage spec: ``spec(("on", "red", "blue"), ("released", "red"))``."""
    return {"stages": [{"all": [{"pred": a[0], "args": list(a[1:]), **params} for a in atoms]}]}


REACH = spec(("reach", "red"))
GRASP = spec(("grasped", "red"))
LIFT = spec(("lifted", "red"))
ON_RED_RED = spec(("on", "red", "red"))
PURPLE = spec(("reach", "purple"))


def proposals(*items: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"proposals": [{"rationale": "next", "instruction": w, "spec": s} for w, s in items]}


def decomposition(*items: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "rationale": "one after the other",
        "subtasks": [{"instruction": w, "spec": s} for w, s in items],
    }


def context(db: Database, tmp_path: Path, url: str, name: str = "t", **settings: Any) -> Context:
    from controllers.learner import LearnerConfig

    with db.session() as s:
        exp_id = runs.create_experiment(s, name=name, planner_backend="openai").id
    recorder = DatabaseRecorder(db, exp_id)
    config = PlannerSettings(
        backend="openai", openai_base_url=f"{url}/v1", openai_model="fake-vlm", timeout_s=5,
        retries=0, backoff_s=0.0,
    )  # fmt: skip
    return Context(
        db=db, experiment_id=exp_id, settings=LoopSettings.model_validate(settings),
        planner=Planner.from_settings(config, recorder=recorder, sleep=lambda _: None),
        recorder=recorder, learners=LearnerStore(tmp_path / name, LearnerConfig()),
        executor=InProcessExecutor(),
    )  # fmt: skip


def iteration(ctx: Context, number: int) -> LoopState:
    with ctx.db.session() as s:
        it = runs.start_iteration(s, experiment_id=ctx.experiment_id)
    return LoopState(experiment_id=ctx.experiment_id, iteration=number, iteration_id=it.id)


def prompts(fake: FakeServer, marker: str) -> list[str]:
    """The texts of the requests whose body mentions ``marker`` (one question kind)."""
    bodies = [json.dumps(r.body) for r in fake.requests]
    return [b for b in bodies if marker in b]


def task_rows(db: Database, experiment_id: int) -> list[tuple[str, str | None, str | None]]:
    with db.reader() as s:
        rows = list_tasks(s, experiment_id=experiment_id)
        return [(t.status, t.wording, t.verdict) for t in rows]


def test_rejections_reach_the_next_prompt_and_nothing_crashes(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A person's rejection and the model's invalid and duplicate proposals are refused,
    stored with their reasons, and quoted back in the next propose prompt; when nothing the
    model proposed can be trained, the rules propose instead."""
    script = [
        openai_ok(
            proposals(
                ("touch the red cube", REACH),
                ("put red on red", ON_RED_RED),
                ("reach the purple block", PURPLE),
            )
        ),
        openai_ok(decomposition(("grasp the red block", GRASP), ("lift it", LIFT))),
        openai_ok(proposals(("reach red again", REACH))),  # a duplicate, and nothing else
    ]
    with serve(script) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, review=True)
        state = iteration(ctx, 1)
        new = propose_node(ctx, state)["new_tasks"]
        assert len(new) == 1
        decompose(ctx, LoopState(**{**state.__dict__, "new_tasks": new}))
        with sqlite_db.session() as s:
            reject_task(s, task_id=new[0], reason="rejected by ada: too easy")
        update = propose_node(ctx, iteration(ctx, 2))

    rows = task_rows(sqlite_db, ctx.experiment_id)
    statuses = {w: st for st, w, _ in rows}
    assert statuses["touch the red cube"] == "rejected"
    assert statuses["put red on red"] == "invalid"
    assert statuses["reach the purple block"] == "invalid"
    assert statuses["reach red again"] == "rejected" or statuses["reach red again"] == "duplicate"
    [second] = prompts(fake, "New tasks, easiest first")[1:]
    for words in ("put red on red", "reach the purple block", "rejected by ada: too easy"):
        assert words in second, words
    assert "purple" in second.split("reach the purple block")[1][:400]  # its reason follows
    # The duplicate left nothing to train: the rules proposed, and say why.
    assert update["new_tasks"], "the rules' proposals are trained instead"
    with sqlite_db.reader() as s:
        offline = [
            d.error or "" for d in s.scalars(select(Decision).where(Decision.backend == "offline"))
        ]
    assert any("no acceptable proposal from openai" in e for e in offline)


def test_an_accepted_task_is_trained_whatever_its_decomposition_lists(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """ "Reach the red block" decomposed into grasp and lift: reach itself trains too."""
    script = [
        openai_ok(proposals(("touch the red cube", REACH))),
        openai_ok(decomposition(("grasp the red block", GRASP), ("lift it", LIFT))),
    ]
    with serve(script) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url)
        state = iteration(ctx, 1)
        new = propose_node(ctx, state)["new_tasks"]
        decompose(ctx, LoopState(**{**state.__dict__, "new_tasks": new}))
    with sqlite_db.reader() as s:
        own = skills.find_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
        grasp = skills.find_skill(s, spec=GRASP, experiment_id=ctx.experiment_id)
        [task] = list_tasks(s, experiment_id=ctx.experiment_id)
        assert task.status == "accepted"
    assert own is not None and own.status == "training"
    assert grasp is not None and grasp.status == "training"


def test_a_goal_with_nothing_left_to_train_is_trained_itself(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A two-stage goal never proposed by anyone is still trained: the run gives it up only
    on a budget, never with "nothing left to train"."""
    goal = "stack the red block on the blue block, then stack the green block on the red block"
    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, goal=goal)
        update = plan(ctx, iteration(ctx, 1))
    assert update.get("stop_reason") is None
    with sqlite_db.reader() as s:
        found = skills.find_skill(s, spec=ctx.goal, experiment_id=ctx.experiment_id)
    assert found is not None and found.status == "training" and found.stages == 2
    assert [int(k) for k in update["weights"]] == [found.id]


def test_subtasks_are_matched_by_scored_retrieval_from_a_bounded_library(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """With 300 skills in the experiment, the decompose prompt lists a bounded, relevant
    slice; a subtask worded differently or 1 mm off is the library's skill, another one
    becomes a new skill, and each step records its retrieval score."""
    heights = [round(0.02 + 0.0009 * i, 4) for i in range(300)]
    target = spec(("lifted", "green"), height=heights[100])
    near = spec(("lifted", "green"), height=round(heights[100] + 0.001, 4))
    answer = decomposition(
        ("raise green", target), ("raise green a touch more", near), ("grab red", GRASP)
    )
    script = [openai_ok(proposals(("stack", spec(("on", "red", "blue"))))), openai_ok(answer)]
    with serve(script) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url)
        with sqlite_db.session() as s:
            ids = skills.add_skills(
                s, specs=[spec(("lifted", ("red", "green", "blue")[i % 3]), height=h)
                          for i, h in enumerate(heights)],
                experiment_id=ctx.experiment_id,
            )  # fmt: skip
            exact = skills.get_skill(s, skill_id=ids[100])
        state = iteration(ctx, 1)
        new = propose_node(ctx, state)["new_tasks"]
        decompose(ctx, LoopState(**{**state.__dict__, "new_tasks": new}))
    [prompt] = prompts(fake, "ordered subtasks")
    listed = prompt.split("Library (instruction, status, success rate):")[1]
    assert 0 < listed.count("\\n- ") + 1 <= PROMPT_LIBRARY
    with sqlite_db.reader() as s:
        steps = decomposition_steps(s, task_ids=[new[0]])[new[0]]
        s.expunge_all()  # plain values from here on
    assert steps[0].skill_id == exact.id and steps[0].matched_existing
    assert steps[1].skill_id == exact.id and steps[1].matched_existing
    assert steps[1].score is not None and 0.5 < steps[1].score < 1.0  # near, not the same
    assert steps[2].skill_id not in ids and not steps[2].matched_existing
    with sqlite_db.reader() as s:
        new_skill = skills.get_skill(s, skill_id=steps[2].skill_id)
    assert new_skill.status == "training" and new_skill.experiment_id == ctx.experiment_id


def test_an_analysis_with_an_unknown_skill_keeps_its_valid_verdicts(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """One judgement on a skill that does not exist: the others are applied, the answer is
    not asked again, and the decision row says what was dropped."""
    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, patience_steps=0)
    with sqlite_db.session() as s:
        k = skills.add_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
        for step in (1000, 2000, 3000):
            skills.record_evaluation(
                s, skill_id=k.id, episodes=10, successes=0, env_steps=step,
                experiment_id=ctx.experiment_id,
            )  # fmt: skip
    judgements = [
        {"skill_id": k.id, "reason": "flat at zero", "verdict": "stalled", "confidence": 0.9},
        {"skill_id": 999, "reason": "looks done", "verdict": "learned", "confidence": 0.9},
    ]
    with serve([openai_ok({"judgements": judgements, "summary": ""})]) as fake:
        ctx.planner = context(sqlite_db, tmp_path, fake.url, name="judge").planner
        ctx.planner.recorder = ctx.recorder
        analyze(ctx, LoopState(experiment_id=ctx.experiment_id, env_steps=3000))
    assert len(fake.requests) == 1  # kept, not repaired
    with sqlite_db.reader() as s:
        assert skills.get_skill(s, skill_id=k.id).status == "failed"
        [(valid, error)] = s.execute(
            select(Decision.valid, Decision.error).where(Decision.kind == "analyze")
        ).all()
    assert valid and "skill 999 is not in training" in (error or "")


def test_patience_counts_the_env_steps_collected_for_the_skill_itself(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Two skills share the collection: a stalled one is failed only once its own data
    reaches the patience, not when the experiment's env steps do."""
    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, patience_steps=3000)
    with sqlite_db.session() as s:
        k = skills.add_skill(s, spec=LIFT, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
        for step in (1000, 2000, 3000, 4000):
            skills.record_evaluation(
                s, skill_id=k.id, episodes=10, successes=0, env_steps=step,
                experiment_id=ctx.experiment_id,
            )  # fmt: skip

    def collect_round(env_step: int) -> None:  # 2,000 env steps, half of them for k
        with sqlite_db.session() as s:
            for skill_id in (k.id, None):
                for _ in range(10):
                    record_episode(
                        s, steps=100, total_return=0.0, success=False, purpose="collect:policy",
                        skill_id=skill_id, experiment_id=ctx.experiment_id, env_step=env_step,
                    )  # fmt: skip

    judgement = {"skill_id": k.id, "reason": "flat at zero", "verdict": "stalled",
                 "confidence": 0.9}  # fmt: skip
    since = {str(k.id): 0}
    for round_start in (0, 2000):
        collect_round(round_start)
    with serve([openai_ok({"judgements": [judgement], "summary": ""})] * 2) as fake:
        ctx.planner = context(sqlite_db, tmp_path, fake.url, name="judge").planner
        ctx.planner.recorder = ctx.recorder
        state = LoopState(experiment_id=ctx.experiment_id, env_steps=4000, training_since=since)
        analyze(ctx, state)  # 4,000 env steps in all, 2,000 its own
        with sqlite_db.reader() as s:
            assert skills.get_skill(s, skill_id=k.id).status == "training"
        collect_round(4000)
        analyze(ctx, dataclasses.replace(state, env_steps=6000))  # 3,000 its own
    with sqlite_db.reader() as s:
        failed = skills.skill_detail(s, skill_id=k.id)
    assert failed.skill.status == "failed"
    assert "after 3000 env steps of its own data (6000 in all)" in failed.history[-1].reason


def test_promotion_needs_the_bound_over_enough_episodes(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """10 of 10 (lower bound 72 %) is not enough at an 80 % threshold; 49 of 50 is."""
    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url)
    ctx.planner = Planner.from_settings(PlannerSettings(), recorder=ctx.recorder)  # the rules
    with sqlite_db.session() as s:
        k = skills.add_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
        skills.record_evaluation(
            s, skill_id=k.id, episodes=10, successes=10, env_steps=1000,
            experiment_id=ctx.experiment_id,
        )  # fmt: skip
    analyze(ctx, LoopState(experiment_id=ctx.experiment_id, env_steps=1000))
    [row] = [r for r in experiment_status(sqlite_db, home=tmp_path) if r["id"] == ctx.experiment_id]
    [shown] = row["training"]  # `experimenter status` shows the bound promotion must clear
    assert shown["success"] == 1.0 and shown["lower_bound"] == pytest.approx(0.722, abs=0.001)
    with sqlite_db.session() as s:
        assert skills.get_skill(s, skill_id=k.id).status == "training"
        skills.record_evaluation(
            s, skill_id=k.id, episodes=50, successes=49, env_steps=2000,
            experiment_id=ctx.experiment_id,
        )  # fmt: skip
    analyze(ctx, LoopState(experiment_id=ctx.experiment_id, env_steps=2000))
    with sqlite_db.reader() as s:
        promoted = skills.get_skill(s, skill_id=k.id)
    assert promoted.status == "learned"
    assert promoted.success_lower == pytest.approx(0.895, abs=0.01)


def test_a_goal_threshold_keeps_the_goal_training_past_the_threshold(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """``--goal-threshold 0.9``: at 46 of 50 (lower bound 81 %) another skill is learned
    but the goal keeps training and the run goes on; at 50 of 50 (93 %) the goal is
    learned and the run ends."""
    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, goal="lift the red block", goal_threshold=0.9)
    ctx.planner = Planner.from_settings(PlannerSettings(), recorder=ctx.recorder)  # the rules
    assert ctx.goal is not None
    with sqlite_db.session() as s:
        goal = skills.add_skill(s, spec=ctx.goal, experiment_id=ctx.experiment_id)
        other = skills.add_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
        for k in (goal, other):
            skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
            skills.record_evaluation(
                s, skill_id=k.id, episodes=50, successes=46, env_steps=1000,
                experiment_id=ctx.experiment_id,
            )  # fmt: skip
    state = LoopState(experiment_id=ctx.experiment_id, env_steps=1000)
    analyze(ctx, state)
    with sqlite_db.reader() as s:
        assert skills.get_skill(s, skill_id=other.id).status == "learned"
        assert skills.get_skill(s, skill_id=goal.id).status == "training"
    assert stop_reason(ctx, state) is None
    with sqlite_db.session() as s:
        skills.record_evaluation(
            s, skill_id=goal.id, episodes=50, successes=50, env_steps=2000,
            experiment_id=ctx.experiment_id,
        )  # fmt: skip
    state = LoopState(experiment_id=ctx.experiment_id, env_steps=2000)
    analyze(ctx, state)
    with sqlite_db.reader() as s:
        assert skills.get_skill(s, skill_id=goal.id).status == "learned"
    assert (stop_reason(ctx, state) or "").startswith("goal learned")


def test_a_second_experiment_learns_its_own_skills(sqlite_db: Database, tmp_path: Path) -> None:
    """The first experiment's learned "reach the red block" is not the second's: the second
    trains its own, its goal is not "learned" because the first's is, and each counts only
    its own skills."""
    with serve([openai_ok(proposals())]) as fake:
        first = context(sqlite_db, tmp_path, fake.url, name="first", goal="reach the red block")
        second = context(sqlite_db, tmp_path, fake.url, name="second", goal="reach the red block")
    with sqlite_db.session() as s:
        seed_library(s, layout=first.layout)
        k = skills.add_skill(s, spec=REACH, experiment_id=first.experiment_id)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
        skills.set_status(s, skill_id=k.id, status="learned", decided_by="numbers", reason="t")
    assert stop_reason(first, LoopState()) == "goal learned: reach the red block"
    assert stop_reason(second, LoopState()) is None
    update = plan(second, iteration(second, 1))
    with sqlite_db.reader() as s:
        own = skills.find_skill(s, spec=REACH, experiment_id=second.experiment_id)
        assert own is not None and own.id != k.id and own.status == "training"
        assert list(update["weights"]) == [str(own.id)]
        assert skills.status_counts(s, experiment_id=second.experiment_id)["learned"] == 0
        assert skills.status_counts(s, experiment_id=first.experiment_id)["learned"] == 1


def test_a_failed_skill_is_retried_once_something_was_learned_since(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A failed rung is not the end of the road: once the experiment learned another skill
    after the failure, the skill trains again (once, with the reason recorded), with its
    patience counted from the retry."""
    from experimenter.graph.nodes import plan

    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, retries=1)
    with sqlite_db.session() as s:
        grasp = skills.add_skill(s, spec=GRASP, experiment_id=ctx.experiment_id)
        above = skills.add_skill(
            s, spec=spec(("above", "red", "blue")), experiment_id=ctx.experiment_id
        )
        for k in (above, grasp):
            skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="")
        skills.set_status(s, skill_id=above.id, status="failed", decided_by="planner", reason="")
    state = LoopState(experiment_id=ctx.experiment_id, iteration=3, training_since={
        str(above.id): 0, str(grasp.id): 0})  # fmt: skip
    update = plan(ctx, state)  # nothing learned since it failed: no retry
    with sqlite_db.reader() as s:
        assert skills.get_skill(s, skill_id=above.id).status == "failed"
    assert list(update["weights"]) == [str(grasp.id)]
    with sqlite_db.session() as s:
        skills.set_status(s, skill_id=grasp.id, status="learned", decided_by="numbers", reason="")
    learner = ctx.learners.get()  # env steps move on
    learner.set_weights({learner.add_task(GRASP): 1.0})
    learner.collect(200)
    update = plan(ctx, state)
    with sqlite_db.reader() as s:
        retried = skills.skill_detail(s, skill_id=above.id)
    assert retried.skill.status == "training"
    assert "retry 1 of 1: 1 skill(s) learned since it failed ('grasp the red block')" in (
        retried.history[-1].reason
    )
    assert update["training_since"][str(above.id)] == learner.env_steps > 0  # patience restarts
    with sqlite_db.session() as s:  # failed again: not retried a second time
        skills.set_status(s, skill_id=above.id, status="failed", decided_by="planner", reason="")
        k = skills.add_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="")
        skills.set_status(s, skill_id=k.id, status="learned", decided_by="numbers", reason="")
    plan(ctx, LoopState(experiment_id=ctx.experiment_id, iteration=5))
    with sqlite_db.reader() as s:
        assert skills.get_skill(s, skill_id=above.id).status == "failed"


def test_an_open_ended_run_whose_every_rung_failed_retries_them_instead_of_ending(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Open-ended, with the only next rungs failed and nothing learned since, nothing else
    would ever grow the library: the failed rungs train again (once, saying why) rather
    than the run ending on "nothing left to train"."""
    from experimenter.graph.nodes import plan

    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, retries=1, max_training=2)
    with sqlite_db.session() as s:
        lifts = [
            skills.add_skill(s, spec=spec(("lifted", o)), experiment_id=ctx.experiment_id)
            for o in ("red", "green", "blue")
        ]
        for k in lifts:
            for status in ("training", "failed"):
                skills.set_status(s, skill_id=k.id, status=status, decided_by="planner", reason="")
    update = plan(ctx, LoopState(experiment_id=ctx.experiment_id, iteration=7))
    assert "stop_reason" not in update
    assert list(update["weights"]) == [str(lifts[0].id), str(lifts[1].id)]  # K, oldest first
    with sqlite_db.reader() as s:
        retried = skills.skill_detail(s, skill_id=lifts[0].id)
        assert skills.get_skill(s, skill_id=lifts[2].id).status == "failed"
    assert retried.skill.status == "training"
    assert retried.history[-1].reason == (
        "iteration 7: retry 1 of 1: nothing else can train (every open rung has failed)"
    )
    with sqlite_db.session() as s:  # failed again: retries spent, the run ends
        for k in lifts[:2]:
            skills.set_status(s, skill_id=k.id, status="failed", decided_by="planner", reason="")
    update = plan(ctx, LoopState(experiment_id=ctx.experiment_id, iteration=9))
    assert list(update["weights"]) == [str(lifts[2].id)]
    with sqlite_db.session() as s:
        skills.set_status(s, skill_id=lifts[2].id, status="failed", decided_by="planner", reason="")
    update = plan(ctx, LoopState(experiment_id=ctx.experiment_id, iteration=11))
    assert update["stop_reason"] == "nothing left to train: no skill in training, none proposed"


def test_a_composite_of_learned_skills_runs_its_parts_for_data(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A decomposition step that is a composite (a scripted grasp, then the learned lift)
    runs as its components in order, each ending on its own success, before the task's own
    policy: data for the goal before its own policy works."""
    from experimenter.executor import CollectJob
    from experimenter.graph.recipes import recipe

    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url)
    stack = spec(("on", "red", "blue"), ("released", "red"))
    with sqlite_db.session() as s:
        seed_library(s, layout=ctx.layout)
        grasp = skills.find_skill(s, spec=GRASP)
        assert grasp is not None and grasp.kind == "primitive"
        lift = skills.add_skill(s, spec=LIFT, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=lift.id, status="training", decided_by="planner", reason="")
        skills.set_status(s, skill_id=lift.id, status="learned", decided_by="numbers", reason="")
        both = skills.add_skill(
            s, spec=spec(("lifted", "red"), ("grasped", "red")), kind="composite",
            components=[grasp.id, lift.id], experiment_id=ctx.experiment_id,
        )  # fmt: skip
        task = record_task(
            s, spec=stack, spec_hash=None, instruction="stack", experiment_id=ctx.experiment_id
        )
        own = skills.add_skill(s, spec=stack, experiment_id=ctx.experiment_id, task_id=task.id)
        record_decomposition(s, task_id=task.id, steps=[
            {"spec": skills.skill_specs(s, skill_ids=[both.id])[both.id], "skill_id": both.id,
             "instruction": both.instruction},
            {"spec": stack, "skill_id": own.id, "instruction": own.instruction},
        ])  # fmt: skip
    learner = ctx.learners.get()
    ids = {k: learner.add_task(sp) for k, sp in ((lift.id, LIFT), (own.id, stack))}
    with sqlite_db.reader() as s:
        parts = recipe(s, skill_id=own.id, task_ids=ids, layout=ctx.layout, scripted=False)
    assert parts is not None
    assert [(p.kind, p.primitive, p.task_id) for p in parts] == [
        ("primitive", "grasp", None), ("policy", None, ids[lift.id]), ("policy", None, ids[own.id]),
    ]  # fmt: skip
    learner.set_weights({ids[own.id]: 1.0})
    [episodes] = ctx.executor.collect(
        learner, [CollectJob(own.id, ids[own.id], 800, parts, 0.1, "chain")]
    )
    assert len(episodes) == learner.cfg.num_envs and learner.env_steps == 800


def test_a_failed_step_of_a_decomposition_runs_as_its_primitives(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """The goal's path blocked by a failed step: the goal still collects data along its
    decomposition, with the library's primitives standing in for the failed skill (which
    the learner no longer trains)."""
    from experimenter.graph.recipes import recipe

    with serve([openai_ok(proposals())]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url)
    above_spec = spec(("above", "red", "blue"))
    stack = spec(("on", "red", "blue"), ("released", "red"))
    with sqlite_db.session() as s:
        seed_library(s, layout=ctx.layout)
        grasp = skills.find_skill(s, spec=GRASP)
        assert grasp is not None and grasp.kind == "primitive"
        above = skills.add_skill(s, spec=above_spec, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=above.id, status="training", decided_by="planner", reason="")
        skills.set_status(s, skill_id=above.id, status="failed", decided_by="planner", reason="")
        task = record_task(
            s, spec=stack, spec_hash=None, instruction="stack", experiment_id=ctx.experiment_id
        )
        own = skills.add_skill(s, spec=stack, experiment_id=ctx.experiment_id, task_id=task.id)
        record_decomposition(s, task_id=task.id, steps=[
            {"spec": GRASP, "skill_id": grasp.id, "instruction": grasp.instruction},
            {"spec": above_spec, "skill_id": above.id, "instruction": above.instruction},
            {"spec": stack, "skill_id": own.id, "instruction": own.instruction},
        ])  # fmt: skip
    ids = {own.id: ctx.learners.get().add_task(stack)}  # the failed skill has no task
    with sqlite_db.reader() as s:
        parts = recipe(s, skill_id=own.id, task_ids=ids, layout=ctx.layout, scripted=False)
        scripted = recipe(s, skill_id=own.id, task_ids=ids, layout=ctx.layout, scripted=True)
    assert parts is not None and scripted is not None
    assert [(p.kind, p.primitive, p.task_id) for p in parts] == [
        ("primitive", "grasp", None), ("primitive", "move_above", None),
        ("policy", None, ids[own.id]),
    ]  # fmt: skip
    assert [p.kind for p in scripted] == ["primitive"] * 4  # grasp, above, place, release


def test_a_retry_due_takes_the_free_slot_before_anything_new_is_proposed(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Proposals used to fill every free slot before plan's retries could claim one: a
    failed step of the goal's path then never trained again."""
    with serve([openai_ok(proposals(("reach the green block", spec(("reach", "green")))))]) as fake:
        ctx = context(sqlite_db, tmp_path, fake.url, retries=1, max_training=2)
        with sqlite_db.session() as s:
            above = skills.add_skill(
                s, spec=spec(("above", "red", "blue")), experiment_id=ctx.experiment_id
            )
            lift = skills.add_skill(s, spec=LIFT, experiment_id=ctx.experiment_id)
            skills.set_status(s, skill_id=above.id, status="training", decided_by="planner",
                              reason="")  # fmt: skip
            skills.set_status(s, skill_id=above.id, status="failed", decided_by="planner",
                              reason="")  # fmt: skip
            reach = skills.add_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
            for k in (lift, reach):
                skills.set_status(s, skill_id=k.id, status="training", decided_by="planner",
                                  reason="")  # fmt: skip
            skills.set_status(s, skill_id=reach.id, status="learned", decided_by="numbers",
                              reason="")  # fmt: skip
        # One slot free (lift trains), one retry due (reach learned since above failed).
        update = propose_node(ctx, iteration(ctx, 4))
        assert update == {"new_tasks": []} and fake.requests == []
        plan(ctx, LoopState(experiment_id=ctx.experiment_id, iteration=4))
        with sqlite_db.reader() as s:
            assert skills.get_skill(s, skill_id=above.id).status == "training"
