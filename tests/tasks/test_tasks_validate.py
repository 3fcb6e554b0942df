"""Validation: every problem at once, each saying what is allowed."""

from __future__ import annotations

import json

import pytest

from controllers.layout import SceneConfig
from tasks import TaskSpec, TaskSpecError, validate

OBJECTS = ["red", "green", "blue"]


def atom(pred: str, *args: str, **params: object) -> dict[str, object]:
    return {"pred": pred, "args": list(args), **params}


def problems_of(spec: object, scene: object = OBJECTS) -> list[str]:
    with pytest.raises(TaskSpecError) as info:
        validate(spec, scene)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    return info.value.problems


def test_a_valid_spec_comes_back_as_a_taskspec() -> None:
    spec = {"stages": [{"all": [atom("on", "red", "blue"), atom("released", "red")]}]}
    for scene in (OBJECTS, SceneConfig(), SceneConfig().layout()):
        assert isinstance(validate(spec, scene), TaskSpec)
    assert validate(json.dumps(spec), OBJECTS) == validate(spec, OBJECTS)
    assert validate(validate(spec, OBJECTS), OBJECTS) == validate(spec, OBJECTS)


def test_four_mistakes_give_four_problems_naming_the_allowed_values() -> None:
    spec = {
        "stages": [
            {"all": [atom("stack", "red", "blue")]},
            {"all": [atom("grasped", "purple")]},
            {"all": [atom("lifted", "red", "blue")]},
            {"all": [atom("on", "red", "red")]},
        ]
    }
    problems = problems_of(spec)
    assert len(problems) == 4, problems
    unknown_pred, unknown_obj, arity, twice = problems
    assert "'stack'" in unknown_pred and "reach" in unknown_pred and "in_region" in unknown_pred
    assert "'purple'" in unknown_obj and "red, green, blue" in unknown_obj
    assert "lifted takes 1" in arity and "got 2" in arity
    assert "'red' twice" in twice and "different" in twice
    # Each problem says where it is.
    assert [p.split(" ")[:2] for p in problems] == [["stage", str(i)] for i in range(1, 5)]


def test_parameters_checked_by_name_and_range() -> None:
    spec = {
        "stages": [
            {
                "all": [
                    atom("on", "red", "blue", height=0.1),
                    atom("lifted", "green", height=0.5),
                    atom("in_region", "blue", region="top"),
                    atom("in_region", "red"),
                ]
            }
        ]
    }
    problems = problems_of(spec)
    assert len(problems) == 4, problems
    wrong_param, height, region, missing = problems
    assert "on does not take 'height'" in wrong_param and "no parameters" in wrong_param
    assert "height=0.5" in height and "(0.0, 0.3]" in height
    assert "region='top'" in region and "'center'" in region and "'left'" in region
    assert "needs 'region'" in missing


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (atom("on", "red", "blue"), atom("on", "blue", "red")),
        (atom("above", "red", "blue"), atom("on", "blue", "red")),
        (atom("left_of", "red", "blue"), atom("right_of", "red", "blue")),
        (atom("left_of", "red", "blue"), atom("left_of", "blue", "red")),
        (atom("in_front_of", "red", "blue"), atom("in_front_of", "blue", "red")),
        (atom("behind", "red", "blue"), atom("in_front_of", "red", "blue")),
        (atom("grasped", "red"), atom("released", "red")),
        (atom("on_table", "red"), atom("lifted", "red")),
        (atom("on_table", "red"), atom("on", "red", "blue")),
        (atom("on", "red", "blue"), atom("on", "green", "blue")),
        (atom("on", "red", "blue"), atom("on", "red", "green")),
        (atom("in_region", "red", region="left"), atom("in_region", "red", region="right")),
        (atom("in_region", "red", region="center"), atom("in_region", "red", region="back")),
    ],
)
def test_contradictions_within_a_stage_and_against_constraints(first, second) -> None:
    in_stage = problems_of({"stages": [{"all": [first, second]}]})
    assert len(in_stage) == 1 and "cannot both hold" in in_stage[0], in_stage
    as_constraint = problems_of({"stages": [{"all": [first]}], "constraints": [second]})
    assert len(as_constraint) == 1 and "constraints" in as_constraint[0], as_constraint


@pytest.mark.parametrize(
    "atoms",
    [
        [atom("on", "red", "blue"), atom("released", "red")],
        [atom("left_of", "red", "blue"), atom("left_of", "blue", "green")],
        [atom("left_of", "red", "blue"), atom("behind", "blue", "red")],
        [atom("on", "red", "blue"), atom("on", "blue", "green")],
        [atom("grasped", "red"), atom("released", "blue")],
        [atom("in_region", "red", region="left"), atom("in_region", "red", region="front")],
    ],
)
def test_compatible_atoms_are_accepted(atoms) -> None:
    validate({"stages": [{"all": atoms}]}, OBJECTS)


def test_the_same_object_twice_in_different_stages_is_fine() -> None:
    spec = {"stages": [{"all": [atom("grasped", "red")]}, {"all": [atom("released", "red")]}]}
    validate(spec, OBJECTS)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, ["spec.stages: required key is missing"]),
        ({"stages": []}, ["spec.stages:"]),
        ({"stages": [{"all": []}]}, ["spec.stages[0].all:"]),
        (
            {"stages": [{"all": [atom("reach", "red")]}], "goal": 1},
            ["spec.goal: unexpected key; allowed keys here: stages, constraints"],
        ),
        (
            {"stages": [{"all": [{"pred": "reach", "args": "red", "speed": 1}]}]},
            ["spec.stages[0].all[0].args:", "spec.stages[0].all[0].speed: unexpected key"],
        ),
        ('{"stages": [', ["spec:"]),
    ],
)
def test_structural_errors_are_task_spec_errors(spec: object, expected: list[str]) -> None:
    problems = problems_of(spec)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem
    if "speed" in str(spec):
        assert "pred, args, height, margin, distance, region" in problems[1]


def test_error_message_lists_every_problem() -> None:
    with pytest.raises(TaskSpecError) as info:
        validate({"stages": [{"all": [atom("reach", "pink"), atom("fly", "red")]}]}, OBJECTS)
    assert "2 problem(s)" in str(info.value)
    assert "'pink'" in str(info.value) and "'fly'" in str(info.value)
