"""Retrieval for decomposition, measured on a labelled set of subtask -> skill pairs.

The library is a seed library of primitives plus a few learned and composite skills. Each
case is a subtask as the planner would hand it over (a spec from a decomposition, its own
wording, or both) and the skill a person would pick. Top-1 and top-3 accuracy are printed
(``pytest -s``) and must stay above the floors below.
"""

from __future__ import annotations

from typing import Any

import pytest

import skills as lib
from storage import Database

OBJECTS = ("red", "green", "blue")
TOP1_FLOOR, TOP3_FLOOR = 0.85, 0.95


def atom(pred: str, *args: str, **params: Any) -> dict[str, Any]:
    return {"pred": pred, "args": list(args), **params}


def spec(*stages: list[dict[str, Any]], constraints: list | None = None) -> dict[str, Any]:
    return {"stages": [{"all": s} for s in stages], "constraints": constraints or []}


def seed_library(s) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Skills by a short name -> id."""
    ids: dict[str, int] = {}

    def add(name: str, sp: dict[str, Any], **kw: Any) -> None:
        ids[name] = lib.add_skill(s, spec=sp, **kw).id

    for o in OBJECTS:
        add(f"reach {o}", spec([atom("reach", o)]), kind="primitive", primitive="reach",
            primitive_args={"obj": o})  # fmt: skip
        add(f"grasp {o}", spec([atom("grasped", o)]), kind="primitive", primitive="grasp",
            primitive_args={"obj": o})  # fmt: skip
        add(f"lift {o}", spec([atom("lifted", o, height=0.1)]), kind="primitive",
            primitive="lift", primitive_args={"obj": o, "height": 0.1})  # fmt: skip
        add(f"release {o}", spec([atom("released", o)]), kind="primitive", primitive="release")
        add(f"push {o} left", spec([atom("in_region", o, region="left")]), kind="primitive",
            primitive="push", primitive_args={"obj": o, "direction": "left"})  # fmt: skip
    for a in OBJECTS:
        for b in OBJECTS:
            if a != b:
                add(f"stack {a} {b}", spec([atom("on", a, b), atom("released", a)]))
                add(f"above {a} {b}", spec([atom("above", a, b)]))
    add("near green blue", spec([atom("near", "green", "blue")]))
    add("left red green", spec([atom("left_of", "red", "green")]))
    add("lift red high", spec([atom("lifted", "red", height=0.2)]))
    add("grasp lift red", spec([atom("grasped", "red")], [atom("lifted", "red")]),
        kind="composite", components=[ids["grasp red"], ids["lift red"]])  # fmt: skip
    add("tower", spec([atom("on", "red", "blue"), atom("released", "red")],
                      [atom("on", "green", "red"), atom("released", "green")]))  # fmt: skip
    return ids


# (subtask spec or None, subtask text or None, expected skill name)
CASES: list[tuple[dict[str, Any] | None, str | None, str]] = [
    # specs from a decomposition
    (spec([atom("grasped", "red")]), None, "grasp red"),
    (spec([atom("lifted", "blue", height=0.12)]), None, "lift blue"),
    (spec([atom("lifted", "red", height=0.18)]), None, "lift red high"),
    (spec([atom("on", "red", "green")]), None, "stack red green"),
    (spec([atom("on", "green", "blue"), atom("released", "green")]), None, "stack green blue"),
    (spec([atom("above", "blue", "green", margin=0.03)]), None, "above blue green"),
    (spec([atom("near", "green", "blue", distance=0.08)]), None, "near green blue"),
    (spec([atom("reach", "green")], [atom("grasped", "green")]), None, "grasp green"),
    (spec([atom("grasped", "red")], [atom("lifted", "red")]), None, "grasp lift red"),
    (spec([atom("in_region", "blue", region="left")]), None, "push blue left"),
    (spec([atom("released", "blue")]), None, "release blue"),
    (spec([atom("left_of", "red", "green", margin=0.05)]), None, "left red green"),
    (
        spec([atom("grasped", "blue")], [atom("on", "blue", "red"), atom("released", "blue")]),
        None,
        "stack blue red",
    ),
    (spec([atom("on", "red", "blue")], [atom("on", "green", "red")]), None, "tower"),
    # the planner's own words only
    (None, "grab the blue cube", "grasp blue"),
    (None, "stack red onto blue", "stack red blue"),
    (None, "stack blue on red", "stack blue red"),
    (None, "raise the green cube", "lift green"),
    (None, "move the gripper to the red cube", "reach red"),
    (None, "let go of the green block", "release green"),
    (None, "push the red block to the left side", "push red left"),
    (None, "place the green cube next to the blue cube", "near green blue"),
    (None, "pick up the red block", "lift red"),
    (None, "hold the green block over the red block", "above green red"),
    # both
    (
        spec([atom("on", "green", "red"), atom("released", "green")]),
        "put green on red",
        "stack green red",
    ),
    (spec([atom("lifted", "blue", height=0.1)]), "lift blue up high", "lift blue"),
]


@pytest.fixture
def library(db: Database) -> tuple[Database, dict[str, int]]:
    with db.session() as s:
        ids = seed_library(s)
    return db, ids


def test_retrieval_accuracy_on_the_labelled_set(library: tuple[Database, dict[str, int]]) -> None:
    db, ids = library
    names = {v: k for k, v in ids.items()}
    top1 = top3 = 0
    misses = []
    with db.reader() as s:
        for sp, text, expected in CASES:
            got = [n.skill.id for n in lib.nearest_skills(s, spec=sp, text=text, k=3)]
            top1 += got[:1] == [ids[expected]]
            top3 += ids[expected] in got
            if got[:1] != [ids[expected]]:
                misses.append(f"{text or sp}: expected {expected}, got {[names[i] for i in got]}")
    n = len(CASES)
    print(f"\nretrieval ({db.dialect}, {n} cases): top-1 {top1 / n:.0%}, top-3 {top3 / n:.0%}")
    for m in misses:
        print("  miss:", m)
    assert top1 / n >= TOP1_FLOOR and top3 / n >= TOP3_FLOOR, misses


def test_scores_are_ordered_and_in_range(library: tuple[Database, dict[str, int]]) -> None:
    db, ids = library
    with db.reader() as s:
        found = lib.nearest_skills(s, spec=spec([atom("grasped", "red")]), k=5)
    assert found[0].skill.id == ids["grasp red"] and found[0].structure == pytest.approx(1.0)
    assert all(0 <= n.score <= 1 for n in found)
    assert [n.score for n in found] == sorted((n.score for n in found), reverse=True)


def test_retired_skills_are_not_retrieved_unless_asked(
    library: tuple[Database, dict[str, int]],
) -> None:
    db, ids = library
    with db.session() as s:
        for status in ("training", "learned", "retired"):
            lib.set_status(
                s, skill_id=ids["grasp red"], status=status, decided_by="person", reason=""
            )
    query = spec([atom("grasped", "red")])
    with db.reader() as s:
        assert ids["grasp red"] not in [n.skill.id for n in lib.nearest_skills(s, spec=query)]
        again = lib.nearest_skills(s, spec=query, status="retired")
        assert [n.skill.id for n in again] == [ids["grasp red"]]


def test_bad_retrieval_input_is_refused(library: tuple[Database, dict[str, int]]) -> None:
    db, _ = library
    with db.reader() as s:
        with pytest.raises(lib.SkillError, match="as a spec, as text, or both"):
            lib.nearest_skills(s)
        with pytest.raises(lib.SkillError, match="purple"):
            lib.nearest_skills(s, spec=spec([atom("grasped", "purple")]))
