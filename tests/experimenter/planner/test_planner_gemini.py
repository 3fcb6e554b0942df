"""The gemini backend with the real google-genai SDK against a fake Gemini server on loopback.

The fake checks what the SDK sent (the PNG images, the response schema) and answers from a
script: a valid answer; invalid JSON then valid; 429 twice then valid; 500 forever. Every
call lands in the decisions table of a real SQLite database.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest
from planner_fakes import FakeServer, gemini_error, gemini_ok, serve
from planner_helpers import GOOD_ANALYSIS, analyze_input, decompose_input, pictures
from sqlalchemy import select

from experimenter.planner import DatabaseRecorder, Image, Planner, PlannerSettings
from storage import Database, runs
from storage.decisions import images_of
from storage.models import Decision

__all__ = ["pictures"]  # the fixture, imported for pytest


def planner(fake: FakeServer, db: Database, delays: list[float], **settings: Any) -> Planner:
    settings.setdefault("gemini_api_version", "v1beta")
    config = PlannerSettings(
        backend="gemini", gemini_api_key="test-key", gemini_base_url=fake.url, timeout_s=5,
        retries=3, backoff_s=0.01, backoff_max_s=1,
        **settings,
    )  # fmt: skip
    with db.session() as s:
        exp = runs.create_experiment(s, name=f"e{len(delays)}{id(fake)}", planner_backend="gemini")
    return Planner.from_settings(config, recorder=DatabaseRecorder(db, exp.id), sleep=delays.append)


def decisions(db: Database) -> list[SimpleNamespace]:
    """The decisions rows, oldest first, as plain values."""
    columns = [c.key for c in Decision.__table__.columns]
    with db.reader() as s:
        rows = s.scalars(select(Decision).order_by(Decision.id))
        return [SimpleNamespace(**{c: getattr(r, c) for c in columns}) for r in rows]


def sent_images(body: dict[str, Any]) -> list[bytes]:
    out = []
    for part in body["contents"][0]["parts"]:
        inline = part.get("inlineData") or part.get("inline_data")
        if inline:
            assert inline.get("mimeType", inline.get("mime_type")) in (None, "image/png")
            out.append(base64.urlsafe_b64decode(inline["data"]))
    return out


def test_a_valid_answer_arrives_typed_with_images_schema_and_cost(
    sqlite_db: Database, pictures: list[Image]
) -> None:
    delays: list[float] = []
    with serve([gemini_ok(GOOD_ANALYSIS, prompt_tokens=1000, out=100, thoughts=50)]) as fake:
        answer = planner(fake, sqlite_db, delays).analyze(analyze_input(), images=pictures)
    assert answer.backend == "gemini" and answer.fallback is None
    assert answer.value.by_skill()[1].verdict == "learned"
    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers.get("x-goog-api-key") == "test-key"
    assert sent_images(request.body) == [p.png for p in pictures]  # both PNGs, in order
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    verdict = config["responseSchema"]["properties"]["judgements"]["items"]["properties"]
    assert verdict["verdict"]["enum"] == ["learned", "improving", "stalled"]
    thinking = config["thinkingConfig"]
    assert thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 1024, thinking
    # 1000 prompt tokens at $0.30/M + (100 + 50 thinking) output tokens at $2.50/M
    assert answer.dollars == pytest.approx(1000 * 0.30e-6 + 150 * 2.50e-6)
    [row] = decisions(sqlite_db)
    assert row.valid and row.backend == "gemini" and row.tokens_in == 1000
    assert row.tokens_out == 150 and row.dollars == pytest.approx(answer.dollars)
    assert row.parsed is not None and row.parsed["judgements"][1]["verdict"] == "improving"
    with sqlite_db.reader() as s:
        shas = images_of(s, decision_ids=[row.id])[row.id]
    assert shas == [p.sha256 for p in pictures]
    assert sqlite_db.artifacts is not None and sqlite_db.artifacts.get(shas[0]) == pictures[0].png


def test_invalid_json_is_repaired_once_quoting_the_error(sqlite_db: Database) -> None:
    delays: list[float] = []
    bad_subtask = {"rationale": "r", "subtasks": [{"instruction": "fly", "spec": {
        "stages": [{"all": [{"pred": "on", "args": ["red", "red"]}]}]}}]}  # fmt: skip
    good = {"rationale": "r", "subtasks": [{"instruction": "stack", "spec": {
        "stages": [{"all": [{"pred": "on", "args": ["red", "blue"]}]}]}}]}  # fmt: skip
    script = [gemini_ok("{not json"), gemini_ok(good)]
    with serve(script) as fake:
        answer = planner(fake, sqlite_db, delays).decompose(decompose_input())
    assert answer.backend == "gemini" and [s.instruction for s in answer.value.subtasks] == [
        "stack"
    ]
    assert len(fake.requests) == 2 and delays == []  # a repair is not a retry: no waiting
    repair = fake.requests[1].body["contents"][0]["parts"][-1]["text"]
    assert "{not json" in repair and "the answer is not JSON" in repair
    first, second = decisions(sqlite_db)
    assert not first.valid and first.error is not None and "not JSON" in first.error
    assert second.valid and "It could not be used" in second.prompt
    # A spec that breaks the task language is repaired the same way, with the validator's words.
    with serve([gemini_ok(bad_subtask), gemini_ok(good)]) as fake:
        planner(fake, sqlite_db, delays).decompose(decompose_input())
    repair = fake.requests[1].body["contents"][0]["parts"][-1]["text"]
    assert "names 'red' twice" in repair


def test_rate_limits_are_retried_with_growing_backoff(sqlite_db: Database) -> None:
    delays: list[float] = []
    script = [gemini_error(429, "RESOURCE_EXHAUSTED")] * 2 + [gemini_ok(GOOD_ANALYSIS)]
    with serve(script) as fake:
        answer = planner(fake, sqlite_db, delays).analyze(analyze_input())
    assert answer.backend == "gemini" and len(fake.requests) == 3
    assert len(delays) == 2 and 0.005 <= delays[0] <= 0.01 and 0.01 <= delays[1] <= 0.02
    rows = decisions(sqlite_db)
    assert [r.valid for r in rows] == [False, False, True]
    assert all("429" in (r.error or "") for r in rows[:2])


def test_a_server_that_keeps_failing_falls_back_to_offline_for_the_iteration(
    sqlite_db: Database,
) -> None:
    delays: list[float] = []
    with serve([gemini_error(500, "INTERNAL")]) as fake:
        p = planner(fake, sqlite_db, delays)
        first = p.analyze(analyze_input())
        asked = len(fake.requests)
        second = p.decompose(decompose_input())  # same iteration: the backend is not asked
        assert len(fake.requests) == asked == 4  # the call and its 3 retries
        p.new_iteration()
        p.analyze(analyze_input())  # a new iteration tries it again
        assert len(fake.requests) == 8
    assert first.backend == second.backend == "offline"
    assert first.fallback is not None and "500" in first.fallback
    assert first.value.by_skill()[1].verdict == "learned"  # the rules still judge
    rows = decisions(sqlite_db)
    assert [r.backend for r in rows[:5]] == ["gemini"] * 4 + ["offline"]
    assert rows[4].valid and rows[4].error is not None and "answered offline" in rows[4].error


def test_a_refused_key_is_not_retried(sqlite_db: Database) -> None:
    delays: list[float] = []
    with serve([gemini_error(403, "PERMISSION_DENIED")]) as fake:
        # The SDK's default API version this time: the path starts /v1/.
        p = planner(fake, sqlite_db, delays, gemini_api_version=None)
        answer = p.analyze(analyze_input())
    assert fake.requests[0].path == "/v1/models/gemini-2.5-flash:generateContent"
    assert len(fake.requests) == 1 and delays == [] and answer.backend == "offline"
    assert answer.fallback is not None and "403" in answer.fallback
