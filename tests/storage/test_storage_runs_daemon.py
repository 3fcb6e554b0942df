"""The records a restarted daemon reads back: its experiment, the open iteration, tasks."""

from __future__ import annotations

import skills
from storage import Database, episodes, proposals, runs


def test_restart_finds_the_experiment_and_continues_its_open_iteration(db: Database) -> None:
    with db.session() as s:
        exp = runs.create_experiment(s, name="e1", planner_backend="offline")
        first = runs.start_iteration(s, experiment_id=exp.id)
        runs.finish_iteration(s, iteration_id=first.id, env_steps=100)
        second = runs.start_iteration(s, experiment_id=exp.id)
    with db.session() as s:
        found = runs.find_experiment(s, name="e1")
        assert found is not None and found.id == exp.id
        assert runs.find_experiment(s, name="nope") is None
        assert [e.name for e in runs.list_experiments(s)] == ["e1"]
        open_it = runs.current_iteration(s, experiment_id=exp.id)
        assert open_it is not None and open_it.id == second.id and open_it.number == 2
        assert runs.count_iterations(s, experiment_id=exp.id) == 1
        assert runs.count_iterations(s, experiment_id=exp.id, finished=False) == 2
        runs.finish_iteration(s, iteration_id=second.id, env_steps=200)
        assert runs.current_iteration(s, experiment_id=exp.id) is None
        runs.update_experiment(s, experiment_id=exp.id, budgets={"env_steps": 5})
        assert runs.get_experiment(s, experiment_id=exp.id).budgets == {"env_steps": 5}
        runs.update_experiment(s, experiment_id=exp.id, goal="g", goal_spec={"stages": []})
        changed = runs.get_experiment(s, experiment_id=exp.id)
        assert (changed.goal, changed.goal_spec, changed.budgets) == (
            "g",
            {"stages": []},
            {"env_steps": 5},
        )


def test_tasks_by_iteration_and_status_with_their_decomposition(db: Database) -> None:
    with db.session() as s:
        exp = runs.create_experiment(s, name="e2", planner_backend="offline")
        it = runs.start_iteration(s, experiment_id=exp.id)
        a = proposals.record_task(
            s, spec=None, spec_hash=None, instruction="a", experiment_id=exp.id, iteration_id=it.id
        )
        b = proposals.record_task(
            s, spec=None, spec_hash=None, instruction="b", experiment_id=exp.id
        )
        proposals.set_task_status(s, task_id=b.id, status="rejected", verdict="no")
        proposals.record_decomposition(
            s,
            task_id=a.id,
            steps=[{"spec": {}, "instruction": "x"}, {"spec": {}, "instruction": "y"}],
        )
    with db.reader() as s:
        assert [t.id for t in proposals.list_tasks(s, iteration_id=it.id)] == [a.id]
        assert [t.id for t in proposals.list_tasks(s, experiment_id=exp.id, status="rejected")] == [
            b.id
        ]
        assert [t.id for t in proposals.list_tasks(s, status=["proposed", "rejected"])] == [
            a.id,
            b.id,
        ]
        assert [
            st.instruction for st in proposals.decomposition_steps(s, task_ids=[a.id])[a.id]
        ] == ["x", "y"]
        assert proposals.get_task(s, task_id=a.id).instruction == "a"
        assert episodes.count_episodes(s, experiment_id=exp.id) == 0


def test_evaluations_of_an_iteration_by_skill(db: Database) -> None:
    with db.session() as s:
        exp = runs.create_experiment(s, name="e3", planner_backend="offline")
        it_id = runs.start_iteration(s, experiment_id=exp.id).id
        k = skills.add_skill(s, spec={"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]})
        skills.record_evaluation(s, skill_id=k.id, episodes=10, successes=3, iteration_id=it_id)
        skills.record_evaluation(s, skill_id=k.id, episodes=10, successes=9, iteration_id=it_id)
        skills.record_evaluation(s, skill_id=k.id, episodes=10, successes=1)
    with db.reader() as s:
        got = skills.evaluated_in(s, iteration_id=it_id)
        assert list(got) == [k.id] and got[k.id].successes == 9


def test_skill_specs_by_id(db: Database) -> None:
    reach = {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}
    with db.session() as s:
        k = skills.add_skill(s, spec=reach)
        assert skills.skill_specs(s, skill_ids=[k.id, 999]) == {k.id: {**reach, "constraints": []}}
