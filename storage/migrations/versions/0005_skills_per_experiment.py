"""Skills per experiment: one skill per spec in each scope, not one in the whole database.

A policy belongs to an experiment, so what a skill's status means does too: a second
experiment on the same database learns its own "reach the red block" instead of taking the
first one's as learned. The unique constraint on ``spec_hash`` becomes a unique index on
``(coalesce(experiment_id, 0), spec_hash)``: each experiment's own skills, and the shared
library (seeded primitives, imports: no experiment) as scope 0. Lookups by spec alone
(retrieval's exact match) keep a plain index on ``spec_hash``.

Skills also get ``success_lower``, the Wilson 95 % lower bound of the newest evaluation's
success rate: a skill is promoted on the bound, and lists and pages show it.

SQLite cannot drop a constraint: the table is copied (Alembic's batch mode) with foreign
keys off (``storage.migrate`` turns them off around SQLite migrations and checks them
before committing), and the full-text triggers of 0002, which go with the old table, are
made again.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_COLUMNS = "instruction, wording, description"
FTS_NEW = "new.id, new.instruction, coalesce(new.wording, ''), new.description"
FTS_OLD = "old.id, old.instruction, coalesce(old.wording, ''), old.description"


def _fts_triggers() -> None:
    """The SQLite full-text triggers of migration 0002 (dropped with the copied table)."""
    op.execute(
        "CREATE TRIGGER skills_fts_insert AFTER INSERT ON skills BEGIN "
        f"INSERT INTO skills_fts(rowid, {FTS_COLUMNS}) VALUES ({FTS_NEW}); END"
    )
    op.execute(
        "CREATE TRIGGER skills_fts_delete AFTER DELETE ON skills BEGIN "
        f"INSERT INTO skills_fts(skills_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {FTS_OLD}); "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER skills_fts_update AFTER UPDATE OF {FTS_COLUMNS} ON skills BEGIN "
        f"INSERT INTO skills_fts(skills_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {FTS_OLD}); "
        f"INSERT INTO skills_fts(rowid, {FTS_COLUMNS}) VALUES ({FTS_NEW}); END"
    )


def _scope_index() -> None:
    op.create_index(
        "uq_skills_scope_spec",
        "skills",
        [sa.text("coalesce(experiment_id, 0)"), "spec_hash"],
        unique=True,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("uq_skills_spec_hash", "skills", type_="unique")
    else:
        with op.batch_alter_table("skills", recreate="always") as batch:
            batch.drop_constraint("uq_skills_spec_hash", type_="unique")
        _fts_triggers()
    op.add_column("skills", sa.Column("success_lower", sa.Float(), nullable=True))
    op.create_index("ix_skills_spec_hash", "skills", ["spec_hash"])
    _scope_index()


def downgrade() -> None:
    # Fails (as it must) when two experiments hold the same spec: there is no way back to
    # one skill per spec without choosing whose status to keep.
    op.drop_index("uq_skills_scope_spec", table_name="skills")
    op.drop_index("ix_skills_spec_hash", table_name="skills")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("skills", "success_lower")
        op.create_unique_constraint("uq_skills_spec_hash", "skills", ["spec_hash"])
        return
    with op.batch_alter_table("skills", recreate="always") as batch:
        batch.drop_column("success_lower")
        batch.create_unique_constraint("uq_skills_spec_hash", ["spec_hash"])
    _fts_triggers()
