"""Listing with filters and full-text search, on both databases."""

from __future__ import annotations

import itertools

import pytest

import skills as lib
from controllers.layout import SceneConfig
from storage import Database
from storage.models import Experiment
from tasks import as_task

LAYOUT = SceneConfig().layout()


def add(s, text: str, **kwargs) -> lib.SkillPublic:  # type: ignore[no-untyped-def]
    return lib.add_skill(s, spec=as_task(text, LAYOUT), **kwargs)


@pytest.fixture
def library(db: Database) -> Database:
    """Six skills: statuses, kinds, objects, experiments and success rates all differ."""
    with db.session() as s:
        exp = Experiment(name="e", planner_backend="offline")
        s.add(exp)
        s.flush()
        grasp = add(s, "grasp the red block", kind="primitive", primitive="grasp", status="learned")
        lift = add(s, "lift the red block", status="training", experiment_id=exp.id)
        add(s, "stack the red block on the blue block", status="training", experiment_id=exp.id,
            wording="stacking red onto blue", description="the goal task")  # fmt: skip
        add(s, "put the green block left of the blue block")
        add(s, "move the blue block to the left side of the table", description="clear the centre")
        add(s, "grasp the red block, then lift the red block", kind="composite",
            components=[grasp.id, lift.id])  # fmt: skip
        lib.record_evaluation(s, skill_id=grasp.id, episodes=10, successes=9)
        lib.record_evaluation(s, skill_id=lift.id, episodes=10, successes=4)
    return db


def instructions(rows: list[lib.SkillPublic]) -> list[str]:
    return [r.instruction for r in rows]


def test_filters(library: Database) -> None:
    with library.reader() as s:
        assert len(lib.list_skills(s)) == 6
        assert instructions(lib.list_skills(s, status="training")) == [
            "lift the red block",
            "stack the red block on the blue block",
        ]
        assert len(lib.list_skills(s, status=["training", "learned"])) == 3
        assert instructions(lib.list_skills(s, kind="primitive")) == ["grasp the red block"]
        assert len(lib.list_skills(s, objects="red")) == 4
        assert instructions(lib.list_skills(s, objects=["green", "blue"])) == [
            "put the green block left of the blue block"
        ]
        assert len(lib.list_skills(s, predicates="lifted")) == 2
        assert instructions(lib.list_skills(s, min_success=0.5)) == ["grasp the red block"]
        assert len(lib.list_skills(s, experiment_id=1)) == 2
        assert lib.count_skills(s, objects="red", status="training") == 2
        assert lib.status_counts(s) == {
            "proposed": 3, "training": 2, "learned": 1, "failed": 0, "retired": 0
        }  # fmt: skip


def test_pages_follow_the_id_order(library: Database) -> None:
    with library.reader() as s:
        first = lib.list_skills(s, limit=4)
        rest = lib.list_skills(s, limit=4, after_id=first[-1].id)
    assert [r.id for r in first + rest] == list(range(1, 7))


def test_bad_filters_name_the_allowed_values(library: Database) -> None:
    with library.reader() as s:
        with pytest.raises(lib.SkillError, match="unknown status 'learnt'; allowed: proposed"):
            lib.list_skills(s, status="learnt")
        with pytest.raises(lib.SkillError, match="unknown predicate 'stacked'; allowed: above"):
            lib.list_skills(s, predicates="stacked")
        with pytest.raises(lib.SkillError, match=r"success rate in \[0, 1\], got 80"):
            lib.list_skills(s, min_success=80)


def test_full_text_search_finds_stemmed_words_in_instructions_and_descriptions(
    library: Database,
) -> None:
    with library.reader() as s:
        assert instructions([h.skill for h in lib.search_skills(s, query="stacking blue")]) == [
            "stack the red block on the blue block"
        ]
        assert [h.skill.id for h in lib.search_skills(s, query="goal")] == [3]
        assert [h.skill.id for h in lib.search_skills(s, query="centre")] == [5]
        hits = lib.search_skills(s, query="red lift")
        assert [h.skill.id for h in hits] and {h.skill.id for h in hits} == {2, 6}
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
        assert lib.search_skills(s, query="red", status="learned")[0].skill.id == 1
        assert lib.search_skills(s, query='"red" -(blue*') != []  # operators are just words
        assert lib.search_skills(s, query="purple") == []
        with pytest.raises(lib.SkillError, match="has no words"):
            lib.search_skills(s, query="  ?! ")
