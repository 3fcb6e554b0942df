"""Full-text search over skills: SQLite FTS5 kept by triggers; PostgreSQL tsvector + GIN.

On PostgreSQL the documents live in a narrow table of their own (``skill_search``: skill id
and tsvector, kept by a trigger, not in the models): ranking reads stored vectors from a few
pages instead of re-parsing text from the wide ``skills`` rows.

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
PG_DOCUMENT_NEW = (
    "to_tsvector('english', NEW.instruction || ' ' || coalesce(NEW.wording, '') || ' ' "
    "|| NEW.description)"
)
FTS_COLUMNS = "instruction, wording, description"
FTS_NEW = "new.id, new.instruction, coalesce(new.wording, ''), new.description"
FTS_OLD = "old.id, old.instruction, coalesce(old.wording, ''), old.description"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE skill_search (skill_id integer PRIMARY KEY "
            "REFERENCES skills (id) ON DELETE CASCADE, document tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_skill_search_document ON skill_search USING gin (document)")
        op.execute(
            "CREATE FUNCTION skill_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO skill_search (skill_id, document) VALUES (NEW.id, {PG_DOCUMENT_NEW}) "
            "ON CONFLICT (skill_id) DO UPDATE SET document = EXCLUDED.document; "
            "RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER skill_search_sync AFTER INSERT OR UPDATE OF {FTS_COLUMNS} ON skills "
            "FOR EACH ROW EXECUTE FUNCTION skill_search_sync()"
        )
        op.execute(
            f"INSERT INTO skill_search (skill_id, document) SELECT id, {PG_DOCUMENT} FROM skills"
        )
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
        op.execute("DROP TRIGGER skill_search_sync ON skills")
        op.execute("DROP FUNCTION skill_search_sync()")
        op.execute("DROP TABLE skill_search")
        return
    for trigger in ("skills_fts_insert", "skills_fts_delete", "skills_fts_update"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE skills_fts")
