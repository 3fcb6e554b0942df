"""``experimenter run --executor ray``: a real daemon on a real local Ray cluster learns a
skill with its episodes collected by Ray workers, and a worker killed mid-run is replaced
with the database left consistent (every round recorded once, none lost)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from daemon_helpers import db, env
from sqlalchemy import func, select

import skills
from storage import episodes, runs
from storage.models import Episode

pytest.importorskip("ray")

pytestmark = pytest.mark.slow

LEARNER = [
    "--hidden", "128", "--hidden", "128", "--batch-size", "128", "--episode-steps", "40",
    "--num-envs", "8", "--random-steps", "1000", "--updates-per-step", "1.0",
    "--collect-steps", "1280", "--eval-episodes", "10", "--no-progress", "--video-every", "0",
]  # fmt: skip
STARTED = re.compile(r"ray worker (\d+) started: (\S+) \(pid (\d+)\)")


def test_a_ray_run_learns_a_skill_and_survives_a_killed_worker(tmp_path: Path) -> None:
    home = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experimenter", "run", "--data-dir", str(home),
         "--goal", "reach the red block", "--seed-skills", "none", "--max-training", "1",
         "--threshold", "0.7", "--max-env-steps", "30000", "--executor", "ray",
         "--workers", "2", *LEARNER],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(),
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        # Once the first iteration is summarised, kill worker 0's process.
        deadline = time.monotonic() + 600
        while not any(line.startswith("iteration 1:") for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        pids = {m[1]: int(m[3]) for m in map(STARTED.search, list(lines)) if m}
        os.kill(pids["0"], signal.SIGKILL)
        assert proc.wait(timeout=900) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join()
    out = "".join(lines)
    assert "finished: goal learned: reach the red block" in out, out
    assert re.search(r"ray worker 0 \(\S+\) died mid-call \(\w+\); replaced by \S+", out), out

    database = db(home)
    with database.reader() as s:
        exp = runs.find_experiment(s, name="main")
        assert exp is not None and exp.status == "finished"
        reach = skills.find_skill(
            s, spec={"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]},
            experiment_id=exp.id,
        )  # fmt: skip
        assert reach is not None and reach.status == "learned"
        shares = episodes.worker_shares(s, experiment_id=exp.id)
        rows = s.execute(
            select(Episode.worker, Episode.steps).where(
                Episode.experiment_id == exp.id, Episode.purpose.like("collect%")
            )
        ).all()
        used = exp.env_steps_used
        per_round = s.execute(
            select(Episode.env_step, func.count())
            .where(Episode.experiment_id == exp.id, Episode.purpose.like("collect%"))
            .group_by(Episode.env_step)
        ).all()
    database.dispose()
    # Two workers, then the replacement: all Ray workers, none in process.
    assert len(shares) == 3 and all("/" in w.worker for w in shares), shares
    assert all(worker is not None for worker, _ in rows)
    # Every round once: eight episodes (arena copies) per round, rounds 320 env steps apart,
    # and as many env steps recorded as the experiment collected.
    assert {n for _, n in per_round} == {8}
    starts = sorted(int(step or 0) for step, _ in per_round)
    assert starts == list(range(0, 320 * len(starts), 320))
    assert sum(steps for _, steps in rows) == used
