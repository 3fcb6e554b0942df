"""kill -9 at random points of the loop — inside a planner call, collect, train and evaluate
— restarting each time, then a consistency check of everything stored: iterations 1..N once
each, one evaluation per skill and iteration (of the skills collected for), episode rows =
the experiment's env steps = the learner's env steps = replay transitions (per iteration
too), legal status chains. The real CLI runs as a child process (``daemon_helpers``); the
planner is the OpenAI-compatible backend against a fake endpoint that refuses at once (the
offline rules answer) or, when armed, holds a question until the daemon is killed."""

from __future__ import annotations

import itertools
import json
import random
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import SMALL, db, start
from sqlalchemy import select

from controllers.learner import Learner
from experimenter.status import graph_position
from skills.status import TRANSITIONS
from storage import Database, runs
from storage.enums import SkillStatus
from storage.episodes import collected_steps, latest_checkpoint
from storage.models import Episode, Evaluation, Iteration, Skill, SkillStatusChange

pytestmark = pytest.mark.slow

COLLECT, UPS, ITERATIONS = 800, 0.5, 6
"""Per iteration: 10 collection rounds (4 arenas x 20 steps), 400 updates."""


def _flags() -> list[str]:
    small = list(SMALL)
    small[small.index("--eval-episodes") + 1] = "16"  # an evaluate long enough to land in
    return [
        "--planner", "openai", "--seed-skills", "none", "--collect-steps", str(COLLECT),
        "--updates-per-step", str(UPS), "--max-env-steps", str(ITERATIONS * COLLECT), *small,
    ]  # fmt: skip


ARGS = _flags()


class Endpoint:
    """An OpenAI-compatible endpoint that refuses every question (HTTP 403: the planner's
    offline rules answer at once) and, when armed, first holds one until released."""

    def __init__(self) -> None:
        self.armed, self.arrived, self.released = (threading.Event() for _ in range(3))
        self.questions = 0

    @contextmanager
    def serve(self) -> Iterator[str]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.questions += 1
                if endpoint.armed.is_set():
                    endpoint.armed.clear()
                    endpoint.arrived.set()
                    endpoint.released.wait(60)
                body = json.dumps({"error": {"message": "fake: refused", "type": "denied"}})
                try:
                    self.send_response(403)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                except OSError:  # the daemon was killed while waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
        finally:
            self.released.set()
            server.shutdown()
            server.server_close()


def poll(check: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Poll ``check`` closely (evaluate lasts a fraction of a second) until it holds."""
    end = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"daemon exited ({proc.returncode}) or timed out:\n{out}")
        time.sleep(0.005)


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if proc.stdout:
        proc.stdout.close()


def saved_env_steps(home: Path) -> int:
    """The env steps of the learner's newest complete checkpoint (0 before the first)."""
    path = home / "experiments" / "1" / "learner" / "slots.json"
    if not path.exists():
        return 0
    meta = json.loads(path.read_text())
    return int(meta["added"][meta["current"]]) if meta["current"] else 0


def load_current(home: Path) -> Learner:
    slots = home / "experiments" / "1" / "learner"
    return Learner.load(slots / json.loads((slots / "slots.json").read_text())["current"])


def test_kill9_anywhere_then_everything_stored_agrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "data"
    rng = random.Random(20260613)
    database: Database | None = None
    endpoint = Endpoint()

    def node() -> str | None:
        nonlocal database
        if database is None:
            if not (home / "experimenter.db").exists():
                return None
            database = db(home)
        pos = graph_position(database, home, 1)
        return str(pos.get("node")) if pos else None

    def collect_rows_ahead() -> bool:
        """Episode rows committed past the learner's saved env steps (mid-collect)."""
        assert database is not None
        with database.reader() as s:
            return collected_steps(s, experiment_id=1) > saved_env_steps(home)

    triggers: dict[str, tuple[Callable[[], bool], float, str]] = {
        # target: (when to aim, the most random delay after it, last node completed if hit)
        "collect": (lambda: node() == "plan" and collect_rows_ahead(), 0.1, "plan"),
        "train": (lambda: node() == "collect", 0.3, "collect"),
        "evaluate": (lambda: node() == "train", 0.02, "train"),
    }
    landed: list[str] = []
    with endpoint.serve() as url:
        monkeypatch.setenv("EXPERIMENTER_PLANNER_OPENAI_BASE_URL", url)
        # 1. Inside a planner call: iteration 1's first question (propose) is held.
        endpoint.armed.set()
        proc = start(home, *ARGS)
        assert endpoint.arrived.wait(120), "the daemon never asked the planner"
        time.sleep(rng.uniform(0, 0.2))
        kill9(proc)
        endpoint.released.set()
        assert node() == "analyze"  # killed while proposing
        landed.append("planner")
        # 2. Collect, train, evaluate: aim, wait a random moment, kill; again if it missed.
        for target, (ready, delay, hit) in triggers.items():
            for _attempt in range(3):
                proc = start(home, *ARGS)
                poll(ready, proc)
                time.sleep(rng.uniform(0, delay))
                kill9(proc)
                if node() == hit:
                    landed.append(target)
                    break
        assert landed == ["planner", "collect", "train", "evaluate"]
        # 3. Run to the end of the budget.
        proc = start(home, *ARGS)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        assert "env step budget spent" in out
        assert endpoint.questions > 0

    assert database is not None
    with database.reader() as s:
        used = runs.get_experiment(s, experiment_id=1).env_steps_used
        its = s.execute(
            select(Iteration.id, Iteration.number, Iteration.env_steps, Iteration.finished_at)
            .where(Iteration.experiment_id == 1).order_by(Iteration.number)
        ).all()  # fmt: skip
        evals = s.execute(select(Evaluation.skill_id, Evaluation.iteration_id)).all()
        episodes = s.execute(
            select(Episode.iteration_id, Episode.skill_id, Episode.steps).where(
                Episode.experiment_id == 1, Episode.purpose.like("collect%")
            )
        ).all()
        collected = collected_steps(s, experiment_id=1)
        checkpoint = latest_checkpoint(s, experiment_id=1)
        checkpoint_steps = checkpoint.env_steps if checkpoint is not None else None
        statuses = {k: v for k, v in s.execute(select(Skill.id, Skill.status))}
        changes = s.execute(
            select(SkillStatusChange.skill_id, SkillStatusChange.from_status,
                   SkillStatusChange.to_status).order_by(SkillStatusChange.id)
        ).all()  # fmt: skip
    database.dispose()

    # Iterations 1..N, each once, all finished, each ending at its own multiple of COLLECT.
    assert [it.number for it in its] == list(range(1, ITERATIONS + 1))
    assert all(it.finished_at is not None for it in its)
    assert [it.env_steps for it in its] == [COLLECT * it.number for it in its]
    # One evaluation per skill and iteration, of exactly the skills collected for.
    assert all(n == 1 for n in Counter(evals).values()), Counter(evals)
    evaluated: dict[int | None, set[int]] = defaultdict(set)
    for skill_id, iteration_id in evals:
        evaluated[iteration_id].add(skill_id)
    per_iteration: Counter[int | None] = Counter()
    collected_for: dict[int | None, set[int | None]] = defaultdict(set)
    for iteration_id, episode_skill, steps in episodes:
        per_iteration[iteration_id] += steps
        collected_for[iteration_id].add(episode_skill)
    assert evaluated == collected_for
    # Episode rows = env steps = the learner's counters = the replay, overall and per iteration.
    assert dict(per_iteration) == {it.id: COLLECT for it in its}, "rows counted twice or lost"
    learner = load_current(home)
    assert collected == used == learner.env_steps == learner.replay.added == ITERATIONS * COLLECT
    assert checkpoint_steps == used
    assert learner.updates == ITERATIONS * int(COLLECT * UPS)
    # Every skill's status history is a legal chain ending in its status.
    chains: dict[int, list[tuple[str | None, str]]] = defaultdict(list)
    for skill_id, before, after in changes:
        chains[skill_id].append((before, after))
    assert set(chains) == set(statuses)
    for skill_id, chain in chains.items():
        assert chain[0][0] is None, (skill_id, chain)
        for (_, prev), (before, after) in itertools.pairwise(chain):
            assert before == prev, (skill_id, chain)
            assert SkillStatus(after) in TRANSITIONS[SkillStatus(before)], (skill_id, chain)
        assert chain[-1][1] == statuses[skill_id], (skill_id, chain)
