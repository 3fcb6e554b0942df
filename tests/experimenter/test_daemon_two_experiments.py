"""Two experiments on one database, at once and one after the other: each trains and
measures its own skills (a policy belongs to an experiment, so a skill's status does too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_helpers import SMALL, db, start

import skills
from storage import runs

pytestmark = pytest.mark.slow

REACH = {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}
ARGS = [
    "--goal", "reach the red block", "--seed-skills", "none", "--max-env-steps", "480",
    "--collect-steps", "160", *SMALL,
]  # fmt: skip


def run_all(home: Path, names: list[str]) -> None:
    procs = [start(home, "--experiment", name, *ARGS) for name in names]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        assert "finished: env step budget spent" in out, out


def test_experiments_at_once_and_after_each_train_their_own(tmp_path: Path) -> None:
    home = tmp_path / "data"
    run_all(home, ["a", "b"])  # at once
    run_all(home, ["c"])  # after them
    database = db(home)
    try:
        with database.reader() as s:
            own = {}
            for name in ("a", "b", "c"):
                exp = runs.find_experiment(s, name=name)
                assert exp is not None and exp.env_steps_used == 480
                k = skills.find_skill(s, spec=REACH, experiment_id=exp.id)
                assert k is not None, name
                # Trained and measured by this experiment, every iteration.
                assert k.status in ("training", "learned"), (name, k.status)
                evals = skills.skill_detail(s, skill_id=k.id, evaluations=100).evaluations
                assert len(evals) == 3 and {e.experiment_id for e in evals} == {exp.id}
                own[name] = k.id
    finally:
        database.dispose()
    assert len(set(own.values())) == 3, own
