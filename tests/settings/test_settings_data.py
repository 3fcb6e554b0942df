"""Where the data lives is resolved in one place: a command's flags, else the environment,
else ./data; the dashboard reads the same class."""

from __future__ import annotations

from pathlib import Path

import pytest

from experimenter.commands_db import DatabaseOptions
from settings import DataSettings
from web.config import WebSettings


def test_flags_win_over_the_environment_and_the_environment_over_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EXPERIMENTER_HOME", raising=False)
    monkeypatch.delenv("EXPERIMENTER_DB_URL", raising=False)
    assert DatabaseOptions().data() == DataSettings(home=Path("data"), db_url=None)
    monkeypatch.setenv("EXPERIMENTER_HOME", str(tmp_path / "env"))
    monkeypatch.setenv("EXPERIMENTER_DB_URL", "postgresql://env@host/db")
    assert DatabaseOptions().data() == DataSettings(
        home=tmp_path / "env", db_url="postgresql://env@host/db"
    )
    given = DatabaseOptions(data_dir=tmp_path / "flag").data()
    assert (given.home, given.db_url) == (tmp_path / "flag", "postgresql://env@host/db")
    assert WebSettings().home == tmp_path / "env"  # the dashboard reads the same variables


def test_the_environment_a_process_hands_on_reads_back_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EXPERIMENTER_DB_URL", raising=False)
    assert "EXPERIMENTER_DB_URL" not in DataSettings(home=tmp_path).environment()
    data = DataSettings(home=tmp_path, db_url="sqlite:///x.db")
    assert data.environment() == {
        "EXPERIMENTER_HOME": str(tmp_path), "EXPERIMENTER_DB_URL": "sqlite:///x.db"
    }  # fmt: skip
    for name, value in data.environment().items():
        monkeypatch.setenv(name, value)
    assert DataSettings() == data
