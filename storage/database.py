"""The database: engine, transactions and start-up, for SQLite and PostgreSQL alike.

SQLite (the default) is one file in the data directory, opened in WAL mode with foreign keys
on and a busy timeout. WAL lets readers (the dashboard, ``skills list``) read a snapshot while
the writer (the daemon) commits. Writes begin with ``BEGIN IMMEDIATE``: a deferred
transaction that reads and then writes can fail at once with "database is locked" when
another writer committed in between (SQLite cannot upgrade a stale snapshot), whereas an
immediate one queues for the write lock under the busy timeout.

PostgreSQL is chosen by URL (``postgresql://...``, driven by psycopg 3); the code is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.artifacts import ArtifactStore

log = logging.getLogger(__name__)

DB_FILE = "experimenter.db"
"""Name of the SQLite file inside the data directory."""
ARTIFACTS_DIR = "artifacts"
"""Folder of the artifact store inside the data directory."""
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the write lock before giving up."""
BEGIN_OPTION = "experimenter_sqlite_begin"
"""Execution option naming how a SQLite transaction begins (``DEFERRED`` or ``IMMEDIATE``)."""


def database_url(*, home: Path, db_url: str | None = None) -> str:
    """The SQLAlchemy URL: ``db_url`` if given (``postgresql://`` means psycopg 3), else the
    SQLite file ``<home>/experimenter.db``."""
    if db_url:
        url = make_url(db_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{(Path(home) / DB_FILE).resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; on SQLite with WAL, foreign keys, busy timeout, explicit BEGIN."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: transactions are begun by the "begin" hook below,
        # so that each one can choose DEFERRED or IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Safe in WAL mode (a crash loses at most the last commits, never corrupts).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """An open database and the artifact store next to it.

    ``session()`` is a write transaction, ``reader()`` a read-only one; both close on exit.
    Objects loaded in a session stay readable after it closes (no expiry on commit).
    """

    def __init__(self, url: str, *, artifacts_dir: Path | None = None, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"}),
            expire_on_commit=False,
        )
        read_engine = (
            self.engine.execution_options(postgresql_readonly=True)
            if self.dialect == "postgresql"
            else self.engine
        )
        self._reader = sessionmaker(bind=read_engine, expire_on_commit=False)
        self.artifacts = ArtifactStore(artifacts_dir) if artifacts_dir is not None else None

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._writer() as s, s.begin():
            yield s

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read transaction on one snapshot; it never blocks a writer and writes nothing."""
        with self._reader() as s:
            try:
                yield s
            finally:
                s.rollback()

    def upgrade(self, revision: str = "head") -> list[str]:
        """Apply the migrations up to ``revision``; returns the revisions applied."""
        from storage.migrate import upgrade

        return upgrade(self.engine, revision)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(
    *, home: Path | None = None, db_url: str | None = None, migrate: bool = True
) -> Database:
    """Open the experimenter's database and bring its schema up to date.

    ``db_url`` (e.g. ``EXPERIMENTER_DB_URL``) wins; otherwise the SQLite file in ``home``.
    The artifact store is ``<home>/artifacts`` whenever ``home`` is given.
    """
    if home is None and not db_url:
        raise ValueError("open_database needs a data directory (home) or a database URL")
    url = database_url(home=home or Path("."), db_url=db_url)
    db = Database(url, artifacts_dir=home / ARTIFACTS_DIR if home is not None else None)
    if migrate:
        applied = db.upgrade()
        if applied:
            log.info("database %s migrated: %s", db.engine.url, ", ".join(applied))
    return db
