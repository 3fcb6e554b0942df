"""The loop's shape and its branches, on a real database (no learner needed)."""

from __future__ import annotations

from pathlib import Path

import skills
from experimenter.executor import InProcessExecutor, split_steps
from experimenter.graph.context import Context
from experimenter.graph.graph import build_graph
from experimenter.graph.roster import seed_library
from experimenter.graph.routers import after_analyze, after_decompose, after_evaluate
from experimenter.graph.state import LoopState
from experimenter.learner_store import LearnerStore
from experimenter.planner import DatabaseRecorder, Planner, PlannerSettings
from settings import LoopSettings
from storage import Database, runs

REACH = {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}


def context(db: Database, tmp_path: Path, **settings: object) -> Context:
    from controllers.learner import LearnerConfig

    with db.session() as s:
        exp_id = runs.create_experiment(s, name="t", planner_backend="offline").id
    recorder = DatabaseRecorder(db, exp_id)
    return Context(
        db=db, experiment_id=exp_id, settings=LoopSettings.model_validate(settings),
        planner=Planner.from_settings(PlannerSettings(), recorder=recorder), recorder=recorder,
        learners=LearnerStore(tmp_path / "learner", LearnerConfig()),
        executor=InProcessExecutor(),
    )  # fmt: skip


def test_the_graph_has_the_designs_nodes(sqlite_db: Database, tmp_path: Path) -> None:
    nodes = set(build_graph(context(sqlite_db, tmp_path)).get_graph().nodes)
    assert nodes >= {
        "monitor", "analyze", "propose", "decompose", "review", "plan", "collect", "train",
        "evaluate", "finish",
    }  # fmt: skip


def test_state_defaults_are_real() -> None:
    state = LoopState()
    assert state.new_tasks == [] and state.weights == {} and state.stop_reason is None
    state.new_tasks.append(1)
    assert LoopState().new_tasks == []  # no shared mutable default


def test_propose_only_below_k_and_stop_on_budgets_and_goal(db: Database, tmp_path: Path) -> None:
    ctx = context(db, tmp_path, max_training=1, max_env_steps=1000, goal="reach the red block")
    assert after_analyze(ctx, LoopState()) == "propose"
    with db.session() as s:
        k = skills.add_skill(s, spec=REACH, experiment_id=ctx.experiment_id)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
    assert after_analyze(ctx, LoopState()) == "plan"  # K = 1 skill trains already
    assert after_analyze(ctx, LoopState(env_steps=1000)) == "finish"
    assert after_evaluate(ctx, LoopState(env_steps=999)) == "monitor"
    with db.session() as s:
        skills.set_status(s, skill_id=k.id, status="learned", decided_by="planner", reason="t")
    assert after_evaluate(ctx, LoopState()) == "finish"  # the goal is learned


def test_review_only_in_review_mode(sqlite_db: Database, tmp_path: Path) -> None:
    plain = context(sqlite_db, tmp_path)
    assert after_decompose(plain, LoopState(new_tasks=[1])) == "plan"
    reviewed = plain.__class__(**{**plain.__dict__, "settings": LoopSettings(review=True)})
    assert after_decompose(reviewed, LoopState(new_tasks=[1])) == "review"
    assert after_decompose(reviewed, LoopState(new_tasks=[])) == "plan"


def test_seed_library_is_idempotent(sqlite_db: Database, tmp_path: Path) -> None:
    ctx = context(sqlite_db, tmp_path)
    with sqlite_db.session() as s:
        assert seed_library(s, layout=ctx.layout) == 36
        assert seed_library(s, layout=ctx.layout) == 0
        grasp = skills.find_skill(
            s, spec={"stages": [{"all": [{"pred": "grasped", "args": ["red"]}]}]}
        )
        assert grasp is not None and grasp.kind == "primitive" and grasp.status == "learned"


def test_split_steps_sums_to_the_total() -> None:
    assert sum(split_steps(10, [1, 1, 1])) == 10 and split_steps(10, [3, 1]) == [8, 2]
    assert split_steps(0, [1, 2]) == [0, 0]


def test_a_stalled_skill_is_failed_but_never_the_goal(db: Database, tmp_path: Path) -> None:
    from experimenter.graph.nodes import analyze

    goal = "reach the red block"
    ctx = context(db, tmp_path, goal=goal, patience_steps=0)
    other_spec = {"stages": [{"all": [{"pred": "reach", "args": ["blue"]}]}]}
    with db.session() as s:
        ids = []
        for spec in (REACH, other_spec):
            k = skills.add_skill(s, spec=spec, experiment_id=ctx.experiment_id)
            skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
            for step in (1000, 2000, 3000, 4000):  # flat at 0 %: the planner calls it stalled
                skills.record_evaluation(
                    s, skill_id=k.id, episodes=10, successes=0, env_steps=step,
                    experiment_id=ctx.experiment_id,
                )  # fmt: skip
            ids.append(k.id)
    analyze(ctx, LoopState(env_steps=4000))
    with db.reader() as s:
        goal_skill, other = (skills.get_skill(s, skill_id=i) for i in ids)
    assert other.status == "failed"
    assert goal_skill.status == "training"  # the goal stays until a budget ends the run
