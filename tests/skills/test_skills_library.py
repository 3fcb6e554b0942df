"""Adding skills, the status state machine, evaluations and lineage, on both databases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import skills as lib
from controllers.layout import SceneConfig
from storage import Database
from storage.models import Decision, Experiment, Skill, Task
from tasks import as_task, canonical_instruction

LAYOUT = SceneConfig().layout()
STACK = {
    "stages": [
        {"all": [{"pred": "grasped", "args": ["red"]}]},
        {"all": [{"pred": "released", "args": ["red"]}, {"pred": "on", "args": ["red", "blue"]}]},
    ]
}


def spec(text: str) -> dict:
    return as_task(text, LAYOUT).model_dump(exclude_none=True)


def count(db: Database) -> int:
    with db.reader() as s:
        return s.scalar(select(func.count()).select_from(Skill)) or 0


def test_a_skill_keeps_its_canonical_instruction_and_the_models_wording(db: Database) -> None:
    with db.session() as s:
        skill = lib.add_skill(s, spec=STACK, wording="Pick up red and put it on blue!")
    assert skill.instruction == canonical_instruction(as_task(STACK, LAYOUT))
    assert skill.instruction == "grasp the red block, then stack the red block on the blue block"
    assert skill.wording == "Pick up red and put it on blue!"
    assert (skill.kind, skill.status, skill.stages) == ("learned", "proposed", 2)


def test_adding_the_same_spec_again_returns_the_existing_skill(db: Database) -> None:
    with db.session() as s:
        first = lib.add_skill(s, spec=STACK, wording="first")
    reordered = {"stages": [STACK["stages"][0], {"all": STACK["stages"][1]["all"][::-1]}]}
    with db.session() as s:
        again = lib.add_skill(s, spec=reordered, wording="second")
        assert lib.find_skill(s, spec=STACK) == again
    assert again.id == first.id and again.wording == "first"
    assert count(db) == 1


def test_an_invalid_spec_is_refused_with_every_problem_and_nothing_stored(db: Database) -> None:
    bad = {
        "stages": [{"all": [{"pred": "on", "args": ["red", "red"]}, {"pred": "fly", "args": []}]}]
    }
    with pytest.raises(lib.SkillError) as err, db.session() as s:
        lib.add_skill(s, spec=bad)
    message = str(err.value)
    assert "2 problem(s)" in message and "fly" in message and "red" in message
    with pytest.raises(lib.SkillError, match="purple"), db.session() as s:
        lib.add_skill(s, spec=spec("grasp the red block"))
        lib.add_skill(s, spec={"stages": [{"all": [{"pred": "grasped", "args": ["purple"]}]}]})
    assert count(db) == 0  # the whole transaction was undone


def test_skill_kinds_state_how_they_are_executed(db: Database) -> None:
    with db.session() as s:
        grasp = lib.add_skill(
            s, spec=spec("grasp the red block"), kind="primitive", primitive="grasp",
            primitive_args={"obj": "red"}, status="learned", decided_by="person",
        )  # fmt: skip
        lift = lib.add_skill(s, spec=spec("lift the red block"), kind="learned")
        both = lib.add_skill(
            s, spec=spec("grasp the red block, then lift the red block"), kind="composite",
            components=[grasp.id, lift.id],
        )  # fmt: skip
    assert (grasp.primitive, grasp.primitive_args, grasp.status) == (
        "grasp",
        {"obj": "red"},
        "learned",
    )
    with db.reader() as s:
        detail = lib.skill_detail(s, skill_id=both.id)
        assert [c.id for c in detail.lineage.components] == [grasp.id, lift.id]
        assert [c.id for c in lib.lineage(s, skill_id=lift.id).used_in] == [both.id]
    with pytest.raises(lib.SkillError, match="names its scripted controller"), db.session() as s:
        lib.add_skill(s, spec=spec("reach the blue block"), kind="primitive")
    with pytest.raises(lib.SkillError, match="at least 2 component"), db.session() as s:
        lib.add_skill(s, spec=spec("reach the blue block"), kind="composite", components=[1])
    with pytest.raises(lib.UnknownSkill, match="no skill with id 99"), db.session() as s:
        lib.add_skill(s, spec=spec("reach the blue block"), kind="composite", components=[1, 99])
    with (
        pytest.raises(lib.SkillError, match="unknown kind 'scripted'; allowed: primitive, "),
        db.session() as s,
    ):
        lib.add_skill(s, spec=spec("reach the blue block"), kind="scripted")
    assert count(db) == 3


def test_status_follows_the_state_machine_and_keeps_a_history(db: Database) -> None:
    with db.session() as s:
        skill = lib.add_skill(s, spec=STACK, decided_by="planner", actor="gemini", reason="goal")
        lib.set_status(s, skill_id=skill.id, status="training", decided_by="planner", reason="go")
        lib.set_status(
            s, skill_id=skill.id, status="learned", decided_by="numbers", reason="0.9 >= 0.8"
        )
        lib.set_status(s, skill_id=skill.id, status="retired", decided_by="person", reason="old")
    with db.reader() as s:
        history = lib.skill_detail(s, skill_id=skill.id).history
    assert [(h.from_status, h.to_status, h.decided_by) for h in history] == [
        (None, "proposed", "planner"),
        ("proposed", "training", "planner"),
        ("training", "learned", "numbers"),
        ("learned", "retired", "person"),
    ]
    assert history[0].actor == "gemini" and history[2].reason == "0.9 >= 0.8"


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ([], "learned", "proposed -> training"),
        (["training"], "retired", "training -> learned, training -> failed"),
        # A failed skill may only be retried (issue 14: a failed rung is not the end).
        (["training", "failed"], "learned", "failed -> training"),
        (["training", "learned", "retired"], "training", "none (final)"),
        (["training", "learned"], "proposed", "learned -> retired"),
    ],
)
def test_a_refused_transition_names_the_allowed_ones_and_changes_nothing(
    db: Database, path: list[str], target: str, allowed: str
) -> None:
    with db.session() as s:
        skill = lib.add_skill(s, spec=STACK)
        for status in path:
            lib.set_status(s, skill_id=skill.id, status=status, decided_by="planner", reason="")
    with (
        pytest.raises(lib.TransitionRefused, match=f"allowed from .*: {re.escape(allowed)}$"),
        db.session() as s,
    ):
        lib.set_status(s, skill_id=skill.id, status=target, decided_by="person", reason="")
    with db.reader() as s:
        assert lib.get_skill(s, skill_id=skill.id).status == (path[-1] if path else "proposed")
        assert len(lib.skill_detail(s, skill_id=skill.id).history) == len(path) + 1


def test_unknown_status_decider_and_skill_are_clear_errors(db: Database) -> None:
    with db.session() as s:
        skill = lib.add_skill(s, spec=STACK)
    with (
        pytest.raises(lib.SkillError, match="unknown status 'done'; allowed: proposed, training"),
        db.session() as s,
    ):
        lib.set_status(s, skill_id=skill.id, status="done", decided_by="person", reason="")
    with (
        pytest.raises(lib.SkillError, match="unknown decider 'me'; allowed: planner, person"),
        db.session() as s,
    ):
        lib.set_status(s, skill_id=skill.id, status="training", decided_by="me", reason="")
    with pytest.raises(lib.UnknownSkill, match="no skill with id 7"), db.reader() as s:
        lib.get_skill(s, skill_id=7)


def test_evaluations_update_the_skills_figures(db: Database) -> None:
    with db.session() as s:
        skill = lib.add_skill(s, spec=STACK)
        lib.record_evaluation(s, skill_id=skill.id, episodes=20, successes=10, env_steps=1000)
        lib.record_evaluation(
            s, skill_id=skill.id, episodes=20, successes=18, mean_return=0.9, env_steps=2000
        )
        lib.record_evaluation(s, skill_id=skill.id, episodes=10, successes=7, env_steps=3000)
    with db.reader() as s:
        detail = lib.skill_detail(s, skill_id=skill.id)
    assert detail.skill.evaluations == 3
    assert detail.skill.success_rate == pytest.approx(0.7)
    assert detail.skill.best_success_rate == pytest.approx(0.9)
    assert detail.skill.env_steps == 3000
    assert [e.env_steps for e in detail.evaluations] == [3000, 2000, 1000]  # newest first
    with (
        pytest.raises(lib.SkillError, match="successes must be between 0 and episodes"),
        db.session() as s,
    ):
        lib.record_evaluation(s, skill_id=skill.id, episodes=5, successes=6)


def test_bulk_evaluations_keep_the_newest_per_skill(db: Database) -> None:
    with db.session() as s:
        a = lib.add_skill(s, spec=spec("grasp the red block"))
        b = lib.add_skill(s, spec=spec("grasp the blue block"))
        n = lib.record_evaluations(
            s,
            evaluations=[
                lib.EvaluationCreate(skill_id=a.id, episodes=10, successes=9, env_steps=1),
                lib.EvaluationCreate(skill_id=b.id, episodes=10, successes=1, env_steps=1),
                lib.EvaluationCreate(skill_id=a.id, episodes=10, successes=5, env_steps=2),
            ],
        )
    assert n == 3
    with db.reader() as s:
        ra, rb = lib.get_skill(s, skill_id=a.id), lib.get_skill(s, skill_id=b.id)
    assert (ra.evaluations, ra.success_rate, ra.best_success_rate) == (2, 0.5, 0.9)
    assert (rb.evaluations, rb.success_rate) == (1, 0.1)
    with pytest.raises(lib.UnknownSkill), db.session() as s:
        lib.record_evaluations(
            s, evaluations=[lib.EvaluationCreate(skill_id=404, episodes=1, successes=0)]
        )


def test_lineage_names_the_task_decision_parent_and_children(db: Database) -> None:
    with db.session() as s:
        exp = Experiment(name="e", planner_backend="offline")
        s.add(exp)
        s.flush()
        decision = Decision(experiment_id=exp.id, kind="propose", backend="offline", prompt="p")
        s.add(decision)
        s.flush()
        task = Task(
            experiment_id=exp.id, spec=STACK, instruction="stack", reason="towards the goal",
            decision_id=decision.id,
        )  # fmt: skip
        s.add(task)
        s.flush()
        parent = lib.add_skill(
            s, spec=STACK, experiment_id=exp.id, task_id=task.id, decision_id=decision.id
        )
        child = lib.add_skill(s, spec=spec("grasp the red block"), parent_id=parent.id)
    with db.reader() as s:
        up = lib.lineage(s, skill_id=parent.id)
        down = lib.lineage(s, skill_id=child.id)
    assert up.task is not None and up.task.reason == "towards the goal"
    assert (up.decision_id, up.experiment_id) == (decision.id, exp.id)
    assert [c.id for c in up.children] == [child.id]
    assert down.parent is not None and down.parent.id == parent.id


def test_bulk_add_deduplicates_and_is_all_or_nothing(db: Database) -> None:
    with db.session() as s:
        first = lib.add_skill(s, spec=spec("grasp the red block"))
        ids = lib.add_skills(
            s,
            specs=[
                spec("lift the red block"),
                spec("grasp the red block"),
                spec("reach the blue block"),
                spec("lift the red block"),
            ],
            status="training",
        )
    assert ids[1] == first.id and ids[0] == ids[3] and len(set(ids)) == 3
    with db.reader() as s:
        assert [k.instruction for k in lib.list_skills(s, objects="blue")] == [
            "reach the blue block"
        ]
        assert lib.skill_detail(s, skill_id=ids[2]).history[0].to_status == "training"
        assert lib.search_skills(s, query="reach")[0].skill.id == ids[2]
    with pytest.raises(lib.SkillError, match="spec 1: invalid task spec"), db.session() as s:
        lib.add_skills(s, specs=[spec("grasp the green block"), {"stages": []}])
    assert count(db) == 3
