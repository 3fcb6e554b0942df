"""A full disk while the daemon saves the learner: one clear line and a non-zero exit, the
experiment marked failed, no temporary file left, the stored checkpoint intact; once there
is room the same command finishes the run, with episode rows, env steps and the replay in
agreement. The disk fills for real: the child runs under ``RLIMIT_FSIZE`` (writes past the
limit fail with EFBIG, SIGXFSZ ignored), smaller than the learner's ``learner.pt``."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import SMALL, db, env

from controllers.learner import Learner
from storage import episodes, runs

pytestmark = pytest.mark.slow

COLLECT = 800
ARGS = ["--seed-skills", "none", "--collect-steps", str(COLLECT), "--updates-per-step", "0.5",
        *SMALL]  # fmt: skip
LIMIT = 2 * 1024 * 1024
"""Bytes a file may reach: the replay and the databases fit, ``learner.pt`` (3.4 MB) not."""


def run(home: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def limited() -> None:  # in the child, before exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "experimenter", "run", "--data-dir", str(home), *ARGS, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(), timeout=300,
        preexec_fn=limited,
    )  # fmt: skip


def current(slots: Path) -> str:
    return str(json.loads((slots / "slots.json").read_text())["current"])


def test_a_full_disk_stops_cleanly_and_the_same_command_continues(tmp_path: Path) -> None:
    home = tmp_path / "data"
    slots = home / "experiments" / "1" / "learner"
    first = run(home, "--max-env-steps", str(COLLECT))
    assert first.returncode == 0, first.stdout
    before = current(slots)
    assert Learner.load(slots / before).env_steps == COLLECT

    # Iteration 2's learner save does not fit.
    full = run(home, "--max-env-steps", str(2 * COLLECT), limit=LIMIT)
    lines = full.stdout.strip().splitlines()
    assert full.returncode == 1, full.stdout
    assert "Traceback" not in full.stdout
    assert [line for line in lines if "disk full" in line] == [lines[-1]]
    assert lines[-1].startswith(
        f"experimenter: disk full while saving the learner checkpoint to {slots}/"
    )
    assert lines[-1].endswith(": free space and run the same command again")
    assert list(home.rglob("*.tmp")) == []
    assert current(slots) == before  # the stored checkpoint is untouched and loads
    assert Learner.load(slots / before).env_steps == COLLECT
    database = db(home)
    with database.reader() as s:
        exp = runs.get_experiment(s, experiment_id=1)
        assert exp.status == "failed" and "disk full" in (exp.stop_reason or "")
        # Iteration 2's rows were recorded; its data is not in the saved replay.
        assert episodes.collected_steps(s, experiment_id=1) == 2 * COLLECT

    # A crash in the middle of a save would leave this behind; the restart removes it.
    stale = slots / ("b" if before == "a" else "a") / "learner.pt.tmp"
    stale.write_bytes(b"\0" * LIMIT)
    again = run(home, "--max-env-steps", str(2 * COLLECT))
    assert again.returncode == 0, again.stdout
    assert "env step budget spent: 1600 of 1600" in again.stdout
    assert not stale.exists()
    with database.reader() as s:
        exp = runs.get_experiment(s, experiment_id=1)
        status, used = exp.status, exp.env_steps_used
        collected = episodes.collected_steps(s, experiment_id=1)
        iterations = runs.count_iterations(s, experiment_id=1)
    database.dispose()
    learner = Learner.load(slots / current(slots))
    assert status == "finished" and iterations == 2
    assert collected == used == learner.env_steps == learner.replay.added == 2 * COLLECT
