"""Fixtures of the dashboard tests: a seeded database, the app, a test client, the token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web_seed import Seeded, seed

from storage import Database
from web.app import create_app
from web.config import WebSettings

TOKEN = "test-token-0123456789"


@pytest.fixture
def seeded(make_db: Callable[[str], Database]) -> tuple[Database, Seeded]:
    """A SQLite database with the realistic seed."""
    db = make_db("sqlite")
    return db, seed(db)


def make_client(db: Database, tmp_path: Path) -> TestClient:
    settings = WebSettings(home=tmp_path, token=SecretStr(TOKEN))
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
