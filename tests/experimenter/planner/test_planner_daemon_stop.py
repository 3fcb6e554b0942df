"""``experimenter run --planner gemini`` against a Gemini endpoint that never answers: SIGINT
during the call stops the daemon within seconds, cleanly (exit 0, status ``stopped``)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
from planner_fakes import hang, serve
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # daemon_helpers
from daemon_helpers import SMALL, db, start, wait_for

from storage import runs
from storage.models import Decision

pytestmark = pytest.mark.slow


def test_sigint_during_a_hanging_gemini_call_stops_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "data"
    with serve([hang()]) as fake:
        monkeypatch.setenv("GEMINI_API_KEY", "x")
        monkeypatch.setenv("EXPERIMENTER_PLANNER_GEMINI_BASE_URL", fake.url)
        monkeypatch.setenv("EXPERIMENTER_PLANNER_QUESTION_TIMEOUT_S", "600")
        proc = start(home, "--planner", "gemini", "--seed-skills", "none", *SMALL)
        try:
            wait_for(lambda: bool(fake.requests), 180, proc)  # the propose call is in flight
            time.sleep(0.5)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, out
    # Seconds, against the call's 600 s timeout: saving and exiting took 5.2 s once with
    # both cores busy, so the bound leaves room for a loaded machine.
    assert took < 15, (took, out)
    assert "stopped" in out
    database = db(home)
    try:
        with database.reader() as s:
            assert runs.get_experiment(s, experiment_id=1).status == "stopped"
            errors = list(s.scalars(select(Decision.error).where(Decision.backend == "gemini")))
    finally:
        database.dispose()
    assert errors == ["abandoned: stop requested"]
