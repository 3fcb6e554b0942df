"""The database as users meet it: where it lives, how SQLite is set up, what it enforces."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from storage import Database, database_url, open_database
from storage.models import Evaluation, Experiment, Metric


def test_open_database_creates_and_migrates_the_sqlite_file(tmp_path: Path) -> None:
    db = open_database(home=tmp_path / "data")
    try:
        assert (tmp_path / "data" / "experimenter.db").is_file()
        with db.session() as s:
            s.add(Experiment(name="e1", planner_backend="offline"))
        with db.reader() as s:
            assert s.scalar(select(func.count()).select_from(Experiment)) == 1
        assert db.artifacts is not None and db.artifacts.root == tmp_path / "data" / "artifacts"
    finally:
        db.dispose()


def test_database_url_prefers_the_given_url_and_uses_psycopg(tmp_path: Path) -> None:
    assert database_url(home=tmp_path) == f"sqlite:///{tmp_path.resolve()}/experimenter.db"
    url = database_url(home=tmp_path, db_url="postgresql://u:p@db:5432/lib")
    assert url == "postgresql+psycopg://u:p@db:5432/lib"


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(sqlite_db: Database) -> None:
    with sqlite_db.reader() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar() >= 10_000


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Evaluation(skill_id=12345, episodes=10, successes=3, success_rate=0.3))
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Evaluation)) == 0


def test_timestamps_read_back_as_utc(db: Database) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(microseconds=6)
    with db.session() as s:
        s.add(Experiment(name="e", planner_backend="offline", heartbeat_at=when))
    with db.reader() as s:
        got = s.scalar(select(Experiment.heartbeat_at))
    assert got == when and got is not None and got.utcoffset() == timedelta(0)


def test_a_failed_write_changes_nothing(db: Database) -> None:
    with db.session() as s:
        s.add(Experiment(name="kept", planner_backend="offline"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Metric(experiment_id=1, name="loss", step=1, value=0.5))
        s.add(Experiment(name="kept", planner_backend="offline"))  # duplicate name
        s.flush()
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Metric)) == 0
        assert s.scalar(select(func.count()).select_from(Experiment)) == 1


def test_an_open_reader_does_not_block_the_writer(db: Database) -> None:
    """The dashboard holding a read transaction must not stall the daemon's commits."""
    with db.session() as s:
        s.add(Experiment(name="e", planner_backend="offline"))
    reading = threading.Event()
    release = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        with db.reader() as s:
            seen.append(s.scalar(select(func.count()).select_from(Metric)) or 0)
            reading.set()
            release.wait(10)
            seen.append(s.scalar(select(func.count()).select_from(Metric)) or 0)

    t = threading.Thread(target=reader)
    t.start()
    assert reading.wait(10)
    start = time.monotonic()
    with db.session() as s:
        s.add(Metric(experiment_id=1, name="loss", step=1, value=0.5))
    took = time.monotonic() - start
    release.set()
    t.join(10)
    assert took < 1.0, f"the writer waited {took:.1f} s for a reader"
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Metric)) == 1
    if db.dialect == "sqlite":
        assert seen == [0, 0]  # the reader kept its snapshot
