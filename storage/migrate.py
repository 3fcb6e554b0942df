"""Alembic, driven from code: the migration scripts ship inside this package.

``upgrade(engine)`` runs at start-up (``open_database``) and from ``experimenter db
upgrade``. To write a new migration after changing the models::

    python -m storage.migrate revision -m "what changed" --url sqlite:///scratch.db
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from storage.database import BEGIN_OPTION

MIGRATIONS = Path(__file__).parent / "migrations"
PG_LOCK_KEY = 0x45585052  # "EXPR": serialises concurrent start-ups on PostgreSQL


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate filter: the full-text search objects are made by hand (migration 0002)."""
    return not (name or "").startswith(("skills_fts", "skill_search", "ix_skill_search"))


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config whose scripts are this package's ``migrations`` folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision of the shipped migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: Engine, action: str, revision: str) -> None:
    cfg = alembic_config()
    # One transaction that takes the write lock first, so two processes starting at once
    # migrate one after the other instead of failing.
    options = {BEGIN_OPTION: "IMMEDIATE"}
    with engine.connect().execution_options(**options) as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite's procedure for changing a table's constraints (a copy of the table,
            # sqlite.org/lang_altertable.html#otheralter): foreign keys off, outside the
            # transaction (the pragma is a no-op inside one), checked before committing.
            # Dropping the old table would otherwise cascade into its children.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
                cfg.attributes["connection"] = conn
                if action == "upgrade":
                    command.upgrade(cfg, revision)
                else:
                    command.downgrade(cfg, revision)
                if sqlite and (bad := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"migration broke {len(bad)} foreign key(s): {bad[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Migrate up to ``revision``; returns the revisions applied (empty if none)."""
    before = current_revision(engine)
    target = head_revision() if revision == "head" else revision
    if before == target:
        return []
    _run(engine, "upgrade", revision)
    order = revisions()
    start = order.index(before) + 1 if before in order else 0
    after = current_revision(engine)
    return order[start : order.index(after) + 1] if after in order else []


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate down to ``revision`` (``"base"`` empties the database)."""
    _run(engine, "downgrade", revision)


def main(argv: list[str] | None = None) -> None:
    """Developer entry point: ``revision -m MSG --url URL`` autogenerates a migration."""
    parser = argparse.ArgumentParser(prog="python -m storage.migrate")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--url", required=True, help="a database at the current head")
    args = parser.parse_args(argv)
    command.revision(alembic_config(args.url), message=args.message, autogenerate=True)


if __name__ == "__main__":
    main()
