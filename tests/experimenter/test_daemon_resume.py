"""Crash and stop safety: SIGKILL in the middle of train, SIGTERM in the middle of collect,
a second daemon on the same experiment; the restarted daemon finishes and the database,
the learner checkpoint and the replay agree: nothing lost, nothing done twice."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from daemon_helpers import SMALL, cli, db, start, wait_for
from sqlalchemy import func, select

from controllers.learner import Learner
from experimenter.status import graph_position
from storage import runs
from storage.episodes import count_episodes, latest_checkpoint
from storage.models import Evaluation, Iteration

pytestmark = pytest.mark.slow

COLLECT, UPS = 400, 4
ARGS = [
    "--seed-skills", "none", "--collect-steps", str(COLLECT), "--updates-per-step", str(UPS),
    "--max-env-steps", str(6 * COLLECT), *SMALL,
]  # fmt: skip


def load_current(slots: Path) -> Learner:
    current = json.loads((slots / "slots.json").read_text())["current"]
    return Learner.load(slots / current)


def test_kill_in_train_then_term_in_collect_then_finish(tmp_path: Path) -> None:
    home = tmp_path / "data"
    database = None

    def node() -> str | None:
        nonlocal database
        if database is None:
            if not (home / "experimenter.db").exists():
                return None
            database = db(home)
        pos = graph_position(database, home, 1)
        return f"{pos.get('node')}@{pos.get('iteration')}" if pos else None

    # 1. kill -9 while iteration 2 trains (its collect node has completed).
    first = start(home, *ARGS)
    wait_for(lambda: node() == "collect@2", 120, first)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    slots = home / "experiments" / "1" / "learner"
    killed = load_current(slots)
    # Killed mid-train: iteration 2's collection is saved, its updates are not.
    assert killed.env_steps == 2 * COLLECT and killed.updates == COLLECT * UPS
    status = cli(home, "status", "--json")
    assert '"daemon": false' in status.stdout  # the OS released the lock

    # 2. restart; a second daemon on the same experiment refuses; SIGTERM during collect.
    second = start(home, *ARGS)
    wait_for(lambda: node() == "plan@3", 120, second)
    rival = cli(home, "run", *ARGS)
    assert rival.returncode == 3 and "already run by another daemon" in rival.stdout + rival.stderr
    second.send_signal(signal.SIGTERM)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, out
    assert "stopped: signal SIGTERM" in out

    # 3. run to the end of the budget.
    third = start(home, *ARGS)
    out, _ = third.communicate(timeout=300)
    assert third.returncode == 0, out
    assert "env step budget spent" in out

    assert database is not None
    with database.reader() as s:
        used = runs.get_experiment(s, experiment_id=1).env_steps_used
        numbers = list(s.scalars(select(Iteration.number).order_by(Iteration.number)))
        unfinished = s.scalar(select(func.count()).where(Iteration.finished_at.is_(None)))
        evals = s.execute(select(Evaluation.skill_id, Evaluation.iteration_id)).all()
        episodes = count_episodes(s, experiment_id=1)
        checkpoint = latest_checkpoint(s, experiment_id=1)
        checkpoint_steps = checkpoint.env_steps if checkpoint is not None else None
    n = len(numbers)
    assert numbers == list(range(1, n + 1)) and unfinished == 0  # no iteration twice
    assert len(evals) == len(set(evals))  # one evaluation per skill and iteration
    assert used == n * COLLECT == 6 * COLLECT  # nothing collected twice
    assert episodes * 20 == used  # every episode recorded once
    assert checkpoint_steps == used
    learner = load_current(slots)
    assert learner.env_steps == used
    assert learner.replay.added == learner.env_steps  # the replay is intact
    assert learner.updates == n * COLLECT * UPS  # no update lost or repeated
    database.dispose()
