"""Every migration walks up and down on both databases, and the models match the migrations."""

from __future__ import annotations

import json
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
    from sqlalchemy import text

    import skills
    from storage import runs
    from storage.models import Evaluation, SkillFeature

    db = empty_db
    upgrade(db.engine, "0004")
    reach = {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}
    with db.engine.begin() as c:  # rows as 0004 knew them (the models are at the head)
        exp = c.execute(
            text(
                "INSERT INTO experiments (name, status, planner_backend, config, budgets, "
                "env_steps_used, wall_seconds_used, dollars_used, created_at) VALUES ("
                "'first', 'running', 'offline', '{}', '{}', 0, 0, 0, '2026-01-01') RETURNING id"
            )
        ).scalar_one()
        sid = c.execute(
            text(
                "INSERT INTO skills (spec_hash, spec, instruction, wording, description, kind, "
                "status, stages, experiment_id, created_at, updated_at, evaluations) VALUES ("
                "'cd49a3ca764ed391', :spec, 'reach the red block', 'touch the red cube', '', "
                "'learned', 'training', 1, :exp, '2026-01-01', '2026-01-01', 1) RETURNING id"
            ),
            {"spec": json.dumps(reach), "exp": exp},
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO skill_features (skill_id, feature) VALUES (:k, 'obj:red'), "
                "(:k, 'pred:reach')"
            ),
            {"k": sid},
        )
        c.execute(
            text(
                "INSERT INTO evaluations (skill_id, experiment_id, episodes, successes, "
                "success_rate, env_steps, created_at) VALUES (:k, :exp, 10, 7, 0.7, 100, "
                "'2026-01-01')"
            ),
            {"k": sid, "exp": exp},
        )
    upgrade(db.engine)
    with db.session() as s:
        assert s.query(SkillFeature).count() == 2
        assert s.query(Evaluation).count() == 1
        assert [h.skill.id for h in skills.search_skills(s, query="cube")] == [sid]
        first = skills.find_skill(s, spec=reach, experiment_id=exp)
        assert first is not None and first.id == sid
        second = runs.create_experiment(s, name="second", planner_backend="offline").id
        own = skills.add_skill(s, spec=reach, experiment_id=second)
        assert own.id != sid and own.status == "proposed"
        assert skills.add_skill(s, spec=reach, experiment_id=second).id == own.id
