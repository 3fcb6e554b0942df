"""Database fixtures: every storage and skills test runs on SQLite and on a real PostgreSQL.

One PostgreSQL server per test session (per xdist worker), started from the machine's server
binaries and removed at the end. Each test gets a fresh database copied from a migrated
template (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage import Database
from storage.database import DB_FILE
from storage.pgserver import TemporaryPostgres

BACKENDS = ["sqlite", "postgresql"]
_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TemporaryPostgres]:
    """The session's PostgreSQL server (fails, never skips, when the binaries are missing)."""
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema."""
    path = tmp_path_factory.mktemp("template") / DB_FILE
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: TemporaryPostgres) -> str:
    """Name of a PostgreSQL database migrated to the newest schema."""
    db = Database(pg_server.create_database("template_head"))
    db.upgrade()
    db.dispose()
    return "template_head"


@pytest.fixture
def make_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    """``make_db(backend)``: a fresh migrated database (``"sqlite"`` or ``"postgresql"``)."""
    opened: list[tuple[Database, str | None]] = []

    def make(backend: str) -> Database:
        artifacts = tmp_path / "artifacts"
        if backend == "sqlite":
            folder = tmp_path / f"db{next(_names)}"
            folder.mkdir()
            shutil.copy(request.getfixturevalue("sqlite_template"), folder / DB_FILE)
            db = Database(f"sqlite:///{folder / DB_FILE}", artifacts_dir=artifacts)
            opened.append((db, None))
        else:
            server: TemporaryPostgres = request.getfixturevalue("pg_server")
            name = f"test_{next(_names)}"
            url = server.create_database(name, template=request.getfixturevalue("pg_template"))
            db = Database(url, artifacts_dir=artifacts)
            opened.append((db, name))
        return db

    yield make
    for db, name in opened:
        db.dispose()
        if name is not None:
            request.getfixturevalue("pg_server").drop_database(name)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, make_db: Callable[[str], Database]) -> Database:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    return make_db(request.param)


@pytest.fixture
def sqlite_db(make_db: Callable[[str], Database]) -> Database:
    """A fresh migrated SQLite database (for what only SQLite has: WAL, the file)."""
    return make_db("sqlite")
