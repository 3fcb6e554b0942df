"""Every migration walks up and down on both databases, and the models match the migrations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import Database
from storage.migrate import (
    current_revision,
    downgrade,
    head_revision,
    include_object,
    revisions,
    upgrade,
)
from storage.models import Base

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, make_db: Callable[[str], Database]) -> Database:
    db = make_db(request.param)
    downgrade(db.engine, "base")
    return db


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_every_migration_goes_up_and_down(empty_db: Database) -> None:
    assert _tables(empty_db) == set()
    seen: list[set[str]] = [set()]
    for rev in revisions():
        assert upgrade(empty_db.engine, rev) == [rev]
        assert current_revision(empty_db.engine) == rev
        seen.append(_tables(empty_db))
    assert {"skills", "evaluations", "experiments", "decisions", "commands"} <= seen[-1]
    for rev, tables in zip(reversed(["base", *revisions()[:-1]]), reversed(seen[:-1]), strict=True):
        downgrade(empty_db.engine, rev)
        assert _tables(empty_db) == tables
    assert current_revision(empty_db.engine) is None
    assert upgrade(empty_db.engine) == revisions()  # and up again from nothing


def test_upgrade_is_idempotent(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    assert db.upgrade() == []


def test_models_match_the_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "models and migrations differ; write a migration (storage/migrate.py)"


def test_skills_per_experiment_migration_keeps_every_row(empty_db: Database) -> None:
    """0005 copies the skills table on SQLite: nothing hanging off a skill may be lost (with
    foreign keys on, dropping the old table would cascade into features and evaluations),
    search still finds the skills, and afterwards two experiments may hold the same spec."""
    import skills
    from storage import runs
    from storage.models import Evaluation, SkillFeature

    db = empty_db
    upgrade(db.engine, "0004")
    reach = {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}
    with db.session() as s:
        first = runs.create_experiment(s, name="first", planner_backend="offline").id
        k = skills.add_skill(s, spec=reach, wording="touch the red cube", experiment_id=first)
        skills.set_status(s, skill_id=k.id, status="training", decided_by="planner", reason="t")
        skills.record_evaluation(
            s, skill_id=k.id, episodes=10, successes=7, env_steps=100, experiment_id=first
        )
    with db.reader() as s:
        features = s.query(SkillFeature).count()
    upgrade(db.engine)
    with db.session() as s:
        assert s.query(SkillFeature).count() == features > 0
        assert s.query(Evaluation).count() == 1
        assert [h.skill.id for h in skills.search_skills(s, query="cube")] == [k.id]
        second = runs.create_experiment(s, name="second", planner_backend="offline").id
        own = skills.add_skill(s, spec=reach, experiment_id=second)
        assert own.id != k.id and own.status == "proposed"
        assert skills.add_skill(s, spec=reach, experiment_id=second).id == own.id
