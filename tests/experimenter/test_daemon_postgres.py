"""On PostgreSQL the loop is checkpointed by LangGraph's PostgreSQL checkpointer (in its own
schema, apart from our tables) and a second run continues where the first stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_helpers import SMALL

from experimenter.cli import main
from storage import Database, runs
from storage.pgserver import TemporaryPostgres

pytestmark = pytest.mark.slow


def test_run_on_postgresql_then_continue_with_a_larger_budget(
    tmp_path: Path, pg_server: TemporaryPostgres, capsys
) -> None:
    url = pg_server.create_database("daemon_pg")
    common = ["--db-url", url, "--data-dir", str(tmp_path), "--seed-skills", "none",
              "--collect-steps", "160", *SMALL]  # fmt: skip
    assert main(["run", *common, "--max-env-steps", "320"]) == 0
    assert "env step budget spent: 320 of 320" in capsys.readouterr().out
    assert main(["run", *common, "--max-env-steps", "480"]) == 0  # continues: 3 iterations
    assert "env step budget spent: 480 of 480" in capsys.readouterr().out
    db = Database(url)
    with db.reader() as s:
        assert runs.count_iterations(s, experiment_id=1) == 3
        assert runs.get_experiment(s, experiment_id=1).env_steps_used == 480
    db.dispose()
    pg_server.drop_database("daemon_pg")
