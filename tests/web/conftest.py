"""Fixtures of the dashboard tests: a seeded database, the app, a test client, the token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web_seed import Seeded, seed

from storage import Database
from storage.database import ARTIFACTS_DIR, DB_FILE
from web.app import create_app
from web.config import WebSettings

TOKEN = "test-token-0123456789"


@pytest.fixture(scope="session")
def seeded_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Seeded]:
    """A data directory (SQLite file and artifacts) holding the seed, made once per session."""
    home = tmp_path_factory.mktemp("seeded")
    shutil.copy(sqlite_template, home / DB_FILE)
    db = Database(f"sqlite:///{home / DB_FILE}", artifacts_dir=home / ARTIFACTS_DIR)
    ids = seed(db)
    db.dispose()  # checkpoints the WAL into the file
    return home, ids


@pytest.fixture
def seeded(
    seeded_template: tuple[Path, Seeded], tmp_path: Path
) -> Iterator[tuple[Database, Seeded]]:
    """A fresh copy of the seeded SQLite database and its artifacts."""
    source, ids = seeded_template
    home = tmp_path / "data"
    shutil.copytree(source, home)
    db = Database(f"sqlite:///{home / DB_FILE}", artifacts_dir=home / ARTIFACTS_DIR)
    yield db, ids
    db.dispose()


def make_client(db: Database, tmp_path: Path, *, cache_seconds: float = 0.0) -> TestClient:
    # No micro-cache by default: these tests write the database behind the app's back (as the
    # daemon does) and expect the next read to show it; test_web_cache.py tests the cache.
    settings = WebSettings(home=tmp_path, token=SecretStr(TOKEN), cache_seconds=cache_seconds)
    return TestClient(create_app(settings, db=db), base_url="http://127.0.0.1:8000")


@pytest.fixture
def client(seeded: tuple[Database, Seeded], tmp_path: Path) -> Iterator[TestClient]:
    """A test client of the dashboard over the seeded database."""
    with make_client(seeded[0], tmp_path) as c:
        yield c


@pytest.fixture
def ids(seeded: tuple[Database, Seeded]) -> Seeded:
    return seeded[1]


@pytest.fixture
def auth() -> dict[str, str]:
    """The header that authorises an API change."""
    return {"Authorization": f"Bearer {TOKEN}"}
