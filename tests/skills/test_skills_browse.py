"""The library as a table: sorted pages, success series, counts per experiment, goals."""

from __future__ import annotations

import pytest

import skills
from skills.browse import skill_page, status_counts_by_experiment, success_series
from skills.goals import goal_from_payload, goal_payload, parse_goal, read_goal
from storage import Database, runs


def test_pages_sort_by_any_column_and_series_are_oldest_first(db: Database) -> None:
    specs = ["reach the red block", "lift the red block", "grasp the blue block"]
    with db.session() as s:
        exp = runs.create_experiment(s, name="e", planner_backend="offline").id
        ids = [skills.add_skill(s, spec=parse_goal(x)[0], experiment_id=exp).id for x in specs]
        for sid, rates in zip(ids[:2], [[1, 5, 9], [12, 20]], strict=True):
            for n in rates:
                skills.record_evaluation(s, skill_id=sid, episodes=20, successes=n, env_steps=n)
        skills.set_status(s, skill_id=ids[0], status="training", decided_by="planner", reason="")
    with db.reader() as s:
        page, total = skill_page(s, sort="success", descending=True, limit=2)
        assert [k.id for k in page] == [ids[1], ids[0]] and total == 3
        page, _ = skill_page(s, sort="success", offset=2)
        assert [k.id for k in page] == [ids[2]]  # never evaluated: last either way
        page, total = skill_page(s, ids=[ids[0], ids[2]], objects="red")
        assert [k.id for k in page] == [ids[0]] and total == 1
        series = success_series(s, skill_ids=ids, last=2)
        assert [p.success_rate for p in series[ids[0]]] == [0.25, 0.45]
        assert series[ids[2]] == []
        counts = status_counts_by_experiment(s, experiment_ids=[exp])[exp]
        assert counts["training"] == 1 and counts["proposed"] == 2 and counts["learned"] == 0
        with pytest.raises(skills.SkillError, match="unknown sort column 'colour'"):
            skill_page(s, sort="colour")


def test_a_goal_is_an_instruction_or_a_spec() -> None:
    spec, instruction = parse_goal("put the red block on the blue block")
    assert spec == {
        "stages": [{"all": [{"pred": "on", "args": ["red", "blue"]}]}],
        "constraints": [],
    }
    assert parse_goal('{"stages": [{"all": [{"pred": "on", "args": ["red", "blue"]}]}]}') == (
        spec, instruction,
    )  # fmt: skip
    bad_goals = [
        ("", "empty"),
        ("juggle", "not a task the arena knows"),
        ('{"stages": [', "not a task the arena knows"),
        ("x" * 5000, "at most"),
    ]
    for bad, message in bad_goals:
        with pytest.raises(skills.SkillError, match=message):
            parse_goal(bad)


def test_a_goal_command_carries_the_goal_as_read() -> None:
    goal = read_goal(" put the red block on the blue block ")
    payload = goal_payload(goal)
    assert payload == {
        "goal": "put the red block on the blue block",
        "spec": parse_goal("put the red block on the blue block")[0],
        "instruction": "put the red block on the blue block",
    }
    assert goal_from_payload(payload) == goal
    with pytest.raises(skills.SkillError, match="keys goal and spec"):
        goal_from_payload({"goal": "put the red block on the blue block"})
