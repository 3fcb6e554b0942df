"""A whole ``experimenter run --planner gemini`` against a model that makes every mistake a
real one makes (``fallible_model``), through the real google-genai SDK: the run reaches its
budget with exit 0, every accepted task is trained, rejections reach the next proposal, no
skill is promoted on numbers that do not pass, every call is a decisions row, and the dollar
budget is never exceeded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fallible_model import FallibleModel
from planner_fakes import serve
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # daemon_helpers
from daemon_helpers import SMALL, db, start

import skills
from storage import proposals, runs
from storage.models import Decision, SkillStatusChange

pytestmark = pytest.mark.slow

MAX_USD = 0.05
THRESHOLD = 0.8


def test_a_run_under_a_fallible_model_reaches_its_budget_and_learns_honestly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "data"
    model = FallibleModel()
    with serve(model) as fake:
        for name, value in {
            "GEMINI_API_KEY": "x", "EXPERIMENTER_PLANNER_GEMINI_BASE_URL": fake.url,
            "EXPERIMENTER_PLANNER_TIMEOUT_S": "2", "EXPERIMENTER_PLANNER_QUESTION_TIMEOUT_S": "4",
            "EXPERIMENTER_PLANNER_RETRIES": "2", "EXPERIMENTER_PLANNER_BACKOFF_S": "0.01",
            "EXPERIMENTER_PLANNER_BACKOFF_MAX_S": "0.05",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        proc = start(
            home, "--planner", "gemini", "--seed-skills", "none", "--max-env-steps", "1600",
            "--collect-steps", "160", "--max-training", "6", "--max-usd", str(MAX_USD),
            "--threshold", str(THRESHOLD),
            *SMALL,
        )  # fmt: skip
        try:
            out, _ = proc.communicate(timeout=400)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        requests = list(fake.requests)
    assert proc.returncode == 0, out
    assert "finished: env step budget spent" in out, out

    database = db(home)
    try:
        with database.reader() as s:
            tasks = proposals.list_tasks(s, experiment_id=1)
            decisions = list(s.scalars(select(Decision).order_by(Decision.id)))
            calls = [
                (d.backend, d.kind, d.error or "", d.cache_hit, d.dollars, d.valid)
                for d in decisions
            ]
            own = {
                t.id: skills.find_skill(s, spec=t.spec, experiment_id=1)
                for t in tasks
                if t.status == "accepted" and t.spec is not None
            }
            mine = skills.list_skills(s, experiment_id=1, limit=1000)
            learned = [k for k in mine if k.status == "learned"]
            promoted_by = {
                k.id: [
                    h.reason
                    for h in s.scalars(
                        select(SkillStatusChange).where(
                            SkillStatusChange.skill_id == k.id,
                            SkillStatusChange.to_status == "learned",
                        )
                    )
                ]
                for k in learned
            }
            status: dict[str | None, tuple[str, str]] = {}
            for t in tasks:  # the first time each wording was proposed
                status.setdefault(t.wording, (t.status, t.verdict or ""))
            exp = runs.get_experiment(s, experiment_id=1)
            spent = exp.dollars_used
            assert (exp.stop_reason or "").startswith("env step budget spent"), exp.stop_reason
    finally:
        database.dispose()

    # Every mistake was made, and refused with a reason.
    assert status["put red on red"][0] == "invalid"
    assert status["reach the purple block"][0] == "invalid"
    assert status["reach the red block again"][0] == "duplicate"
    assert status["fly the blue block"][0] == "invalid"
    assert status["pick up green, then lift it"][0] == "accepted"  # two stages, trained
    errors = " | ".join(e for b, _, e, *_ in calls if b == "gemini")
    for sign in ("429", "503", "Unterminated string", "Expecting value", "timed out"):
        assert sign in errors, (sign, errors)  # 429, 503, truncated, HTML, a hang

    # Every accepted task is trained itself, whatever its decomposition listed.
    assert own and all(k is not None and k.status != "proposed" for k in own.values()), own
    # The next proposal carried the earlier rejections and their reasons.
    proposes = [
        r.body["contents"][0]["parts"][-1]["text"]
        for r in requests
        if "Propose " in r.body["contents"][0]["parts"][-1]["text"]
        and "Your previous answer" not in r.body["contents"][0]["parts"][-1]["text"]
    ]
    assert len(proposes) >= 2
    for words in ("put red on red", "names 'red' twice", "reach the purple block",
                  "unknown object(s) 'purple'"):  # fmt: skip
        assert words in proposes[1], words
    # The model said "learned" for everything: only numbers that pass were promoted.
    assert any(kind == "analyze" for kind, _ in model.answers)
    for k in learned:
        if k.kind == "learned":
            assert k.success_lower is not None and k.success_lower >= THRESHOLD, k
            assert all("lower bound" in r for r in promoted_by[k.id])
    assert any(k.status == "training" for k in mine)  # said learned, kept training
    # Every request the endpoint saw is a decisions row; nothing beyond the budget.
    sent = [c for c in calls if c[0] == "gemini" and not c[3] and not c[2].startswith("not sent")]
    assert len(sent) == len(requests), (len(sent), len(requests))
    assert sum(c[4] for c in calls) <= MAX_USD and spent <= MAX_USD
