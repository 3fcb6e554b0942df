"""Export and import of a library; a bad file changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

import skills as lib
from controllers.layout import SceneConfig
from storage import Database
from storage.models import Skill
from tasks import as_task

LAYOUT = SceneConfig().layout()


def fill(db: Database) -> None:
    with db.session() as s:
        grasp = lib.add_skill(
            s, spec=as_task("grasp the red block", LAYOUT), kind="primitive", primitive="grasp",
            primitive_args={"obj": "red"}, status="learned", decided_by="person",
        )  # fmt: skip
        lift = lib.add_skill(s, spec=as_task("lift the red block", LAYOUT), wording="raise red")
        lib.add_skill(
            s, spec=as_task("grasp the red block, then lift the red block", LAYOUT),
            kind="composite", components=[grasp.id, lift.id], parent_id=lift.id,
        )  # fmt: skip
        lib.record_evaluation(s, skill_id=grasp.id, episodes=10, successes=9)


def count(db: Database) -> int:
    with db.reader() as s:
        return s.scalar(select(func.count()).select_from(Skill)) or 0


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_library_moves_between_databases(
    make_db: Callable[[str], Database], source: str, target: str
) -> None:
    a, b = make_db(source), make_db(target)
    fill(a)
    with a.reader() as s:
        text = lib.export_library(s).model_dump_json()
    library = lib.read_library_file(text)
    with b.session() as s:
        report = lib.import_library(s, library=library, actor="ann", source="lib.json")
    assert (report.added, report.existing) == (3, 0)
    with b.session() as s:  # importing again adds nothing
        assert lib.import_library(s, library=library).added == 0
    with a.reader() as s1, b.reader() as s2:
        old = {k.spec_hash: k for k in lib.list_skills(s1)}
        new = {k.spec_hash: k for k in lib.list_skills(s2)}
        assert old.keys() == new.keys()
        for h, k in new.items():
            assert (k.instruction, k.wording, k.kind, k.status, k.primitive_args) == (
                old[h].instruction, old[h].wording, old[h].kind, old[h].status,
                old[h].primitive_args,
            )  # fmt: skip
        composite = next(k for k in new.values() if k.kind == "composite")
        detail = lib.skill_detail(s2, skill_id=composite.id)
        assert [c.instruction for c in detail.lineage.components] == [
            "grasp the red block",
            "lift the red block",
        ]
        assert detail.lineage.parent is not None
        assert detail.history[0].decided_by == "person" and detail.history[0].actor == "ann"
        assert "imported from lib.json" in detail.history[0].reason


def test_export_of_a_selection_brings_its_components(db: Database) -> None:
    fill(db)
    with db.reader() as s:
        exported = lib.export_library(s, kind="composite")
    assert len(exported.skills) == 3  # the composite, its two components (one is also parent)


def reach(obj: str) -> dict:
    return {"stages": [{"all": [{"pred": "reach", "args": [obj]}]}]}


FLY = {"stages": [{"all": [{"pred": "fly", "args": []}]}]}
BAD_FILES = {
    "not json": ("{oops", "not valid JSON"),
    "wrong format": (json.dumps({"format": "csv", "skills": []}), "format"),
    "missing skills": (json.dumps({"format": "experimenter-skill-library"}), "skills"),
    "invalid spec": (json.dumps({"skills": [{"key": "a", "spec": FLY}]}), "unknown predicate"),
    "unknown reference": (
        json.dumps(
            {
                "skills": [
                    {
                        "key": "a",
                        "spec": reach("red"),
                        "kind": "composite",
                        "components": ["b", "c"],
                    }
                ]
            }
        ),
        "refers to key 'b'",
    ),
    "cycle": (
        json.dumps(
            {
                "skills": [
                    {"key": "a", "spec": reach("red"), "parent": "b"},
                    {"key": "b", "spec": reach("blue"), "parent": "a"},
                ]
            }
        ),
        "cycle",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_malformed_file_is_refused_and_changes_nothing(db: Database, case: str) -> None:
    fill(db)
    text, expected = BAD_FILES[case]
    with pytest.raises(lib.SkillError, match=expected), db.session() as s:
        lib.import_library(s, library=lib.read_library_file(text))
    assert count(db) == 3


def test_a_file_with_one_bad_skill_imports_none_of_it(db: Database) -> None:
    good = {"key": "g", "spec": {"stages": [{"all": [{"pred": "reach", "args": ["green"]}]}]}}
    bad = {"key": "b", "spec": {"stages": [{"all": [{"pred": "on", "args": ["red", "red"]}]}]}}
    with pytest.raises(lib.SkillError, match=r"nothing imported: 1 problem"), db.session() as s:
        lib.import_library(s, library=lib.LibraryFile.model_validate({"skills": [good, bad]}))
    assert count(db) == 0


def test_a_spec_two_experiments_learned_exports_and_imports(db: Database) -> None:
    """Each experiment has its own skill for a spec: the export keeps both, the import
    (into the shared library) takes the spec once."""
    from storage import runs

    reach = as_task("reach the red block", LAYOUT)
    with db.session() as s:
        for name in ("a", "b"):
            exp = runs.create_experiment(s, name=name, planner_backend="offline").id
            lib.add_skill(s, spec=reach, experiment_id=exp)
        text = lib.export_library(s).model_dump_json()
    library = lib.read_library_file(text)
    assert len(library.skills) == 2 and len({e.key for e in library.skills}) == 2
    with db.session() as s:
        report = lib.import_library(s, library=library, source="lib.json")
        assert (report.added, report.existing) == (1, 1)
        shared = lib.find_skill(s, spec=reach)
        assert shared is not None and shared.experiment_id is None
