"""Full-text search over skills: SQLite FTS5 kept by triggers; PostgreSQL tsvector + GIN.

On PostgreSQL the document is a generated column (``search_document``, not in the models:
the database fills it), so ranking reads a stored vector instead of re-parsing the text.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_DOCUMENT = (
    "to_tsvector('english', instruction || ' ' || coalesce(wording, '') || ' ' || description)"
)
FTS_COLUMNS = "instruction, wording, description"
FTS_NEW = "new.id, new.instruction, coalesce(new.wording, ''), new.description"
FTS_OLD = "old.id, old.instruction, coalesce(old.wording, ''), old.description"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE skills ADD COLUMN search_document tsvector "
            f"GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
        )
        op.execute("CREATE INDEX ix_skills_search ON skills USING gin (search_document)")
        return
    # External-content table: the text stays in `skills`, FTS5 holds only the index.
    op.execute(
        f"CREATE VIRTUAL TABLE skills_fts USING fts5({FTS_COLUMNS}, content='skills', "
        "content_rowid='id', tokenize='porter unicode61')"
    )
    op.execute(
        "CREATE TRIGGER skills_fts_insert AFTER INSERT ON skills BEGIN "
        f"INSERT INTO skills_fts(rowid, {FTS_COLUMNS}) VALUES ({FTS_NEW}); END"
    )
    op.execute(
        "CREATE TRIGGER skills_fts_delete AFTER DELETE ON skills BEGIN "
        f"INSERT INTO skills_fts(skills_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {FTS_OLD}); "
        "END"
    )
    # Only text edits touch the index (status changes and evaluations do not).
    op.execute(
        f"CREATE TRIGGER skills_fts_update AFTER UPDATE OF {FTS_COLUMNS} ON skills BEGIN "
        f"INSERT INTO skills_fts(skills_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', {FTS_OLD}); "
        f"INSERT INTO skills_fts(rowid, {FTS_COLUMNS}) VALUES ({FTS_NEW}); END"
    )
    op.execute("INSERT INTO skills_fts(skills_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_skills_search")
        op.execute("ALTER TABLE skills DROP COLUMN search_document")
        return
    for trigger in ("skills_fts_insert", "skills_fts_delete", "skills_fts_update"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE skills_fts")
