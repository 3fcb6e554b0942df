"""The planner under a real, fallible model (issue 13, points 6-8), through the real SDKs.

The fake servers misbehave as real services do: an HTTP 200 whose body is truncated JSON,
an HTML page or JSON of another shape; 429 and 500; a text part that is not JSON; an answer
of the wrong schema; a server that never answers. Budgets are checked against a call's worst
case before it is sent, and come back from the decisions rows after a restart.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from planner_fakes import (
    Raw,
    Reply,
    gemini_error,
    gemini_ok,
    hang,
    html_page,
    openai_error,
    openai_ok,
    serve,
    truncated,
)
from planner_helpers import GOOD_ANALYSIS, analyze_input
from sqlalchemy import select

from experimenter.planner import (
    BudgetExhausted,
    DatabaseRecorder,
    MemoryRecorder,
    ModelPrice,
    Planner,
    PlannerSettings,
    PlannerStopped,
)
from experimenter.planner.record import DecisionRecord
from experimenter.status import experiment_status
from storage import Database, runs
from storage.models import Decision

GEMINI_SHAPES = {
    "truncated JSON": truncated(gemini_ok(GOOD_ANALYSIS)),
    "HTML page": html_page(),
    "JSON of another shape": Raw(200, b'{"candidates": 5}'),
}
OPENAI_SHAPES = {
    "truncated JSON": truncated(openai_ok(GOOD_ANALYSIS)),
    "HTML page": html_page(),
    "JSON of another shape": Raw(200, b'{"choices": 5}'),
}


def gemini(url: str, **settings: Any) -> PlannerSettings:
    base: dict[str, Any] = {
        "backend": "gemini", "gemini_api_key": "k", "gemini_base_url": url, "timeout_s": 5,
        "retries": 3, "backoff_s": 0.01, "backoff_max_s": 0.05,
    }  # fmt: skip
    return PlannerSettings(**{**base, **settings})


def openai_compat(url: str, **settings: Any) -> PlannerSettings:
    base: dict[str, Any] = {
        "backend": "openai", "openai_base_url": f"{url}/v1", "openai_model": "fake-vlm",
        "timeout_s": 5, "retries": 2, "backoff_s": 0.01,
    }  # fmt: skip
    return PlannerSettings(**{**base, **settings})


def experiment(db: Database, name: str) -> int:
    with db.session() as s:
        return runs.create_experiment(s, name=name, planner_backend="gemini").id


def rows(db: Database) -> list[Decision]:
    with db.reader() as s:
        found = list(s.scalars(select(Decision).order_by(Decision.id)))
        s.expunge_all()
        return found


# --- 6: a 200 that is not the API's answer ------------------------------------------------


@pytest.mark.parametrize("shape", list(GEMINI_SHAPES))
def test_gemini_200_that_is_not_an_answer_is_repaired_then_answered_offline(
    sqlite_db: Database, shape: str
) -> None:
    recorder = DatabaseRecorder(sqlite_db, experiment(sqlite_db, "g"))
    with serve([GEMINI_SHAPES[shape]]) as fake:
        answer = Planner.from_settings(gemini(fake.url), recorder=recorder).analyze(analyze_input())
    assert len(fake.requests) == 2  # the question and one repair re-ask, no retries
    assert answer.backend == "offline" and answer.fallback is not None
    assert "after the repair" in answer.fallback and "not a generateContent" in answer.fallback
    first, repair, offline = rows(sqlite_db)
    assert [r.backend for r in (first, repair, offline)] == ["gemini", "gemini", "offline"]
    assert not first.valid and first.error is not None and "generateContent" in first.error
    assert not repair.valid and "It could not be used" in repair.prompt
    assert offline.valid
    if shape == "HTML page":  # what arrived is kept, and quoted in the repair
        assert first.response is not None and "<title>Gateway" in first.response
        assert "<title>Gateway" in fake.requests[1].body["contents"][0]["parts"][-1]["text"]


def test_gemini_truncated_body_then_a_valid_answer(sqlite_db: Database) -> None:
    recorder = DatabaseRecorder(sqlite_db, experiment(sqlite_db, "g"))
    script: list[Reply] = [GEMINI_SHAPES["truncated JSON"], gemini_ok(GOOD_ANALYSIS)]
    with serve(script) as fake:
        answer = Planner.from_settings(gemini(fake.url), recorder=recorder).analyze(analyze_input())
    assert answer.backend == "gemini" and answer.fallback is None and len(fake.requests) == 2
    assert [r.valid for r in rows(sqlite_db)] == [False, True]


@pytest.mark.parametrize("shape", list(OPENAI_SHAPES))
def test_openai_200_that_is_not_an_answer_is_repaired_then_answered_offline(shape: str) -> None:
    recorder = MemoryRecorder()
    with serve([OPENAI_SHAPES[shape], openai_ok(GOOD_ANALYSIS)]) as fake:
        answer = Planner.from_settings(openai_compat(fake.url), recorder=recorder).analyze(
            analyze_input()
        )
    assert answer.backend == "openai" and answer.fallback is None  # the repair was answered
    first, second = recorder.decisions
    assert not first.valid and first.error is not None and "not a chat completion" in first.error
    assert second.valid and "It could not be used" in second.prompt
    with serve([OPENAI_SHAPES[shape]]) as fake:
        answer = Planner.from_settings(openai_compat(fake.url)).analyze(analyze_input())
    assert answer.backend == "offline" and len(fake.requests) == 2


def test_every_way_of_failing_in_one_question() -> None:
    """429, 500 (retried), a text part that is not JSON (repaired), then an answer of the
    wrong schema: the rules answer, and every attempt is a row."""
    recorder = MemoryRecorder()
    wrong = {"verdicts": ["fine"]}
    script = [openai_error(429), openai_error(500), openai_ok("I think it is fine."),
              openai_ok(wrong)]  # fmt: skip
    with serve(script) as fake:
        answer = Planner.from_settings(openai_compat(fake.url), recorder=recorder).analyze(
            analyze_input()
        )
    assert len(fake.requests) == 4 and answer.backend == "offline"
    errors = [d.error or "" for d in recorder.decisions]
    assert "429" in errors[0] and "500" in errors[1] and "not JSON" in errors[2]
    assert "judgements" in errors[3] and recorder.decisions[4].backend == "offline"


# --- 7: a backend that hangs, and a stop while it does --------------------------------------


def test_a_hanging_backend_costs_one_question_its_time_then_is_not_asked_again() -> None:
    recorder = MemoryRecorder()
    with serve([hang()]) as fake:
        # Per attempt the HTTP timeout would allow 5 s; the question has 2 s in all.
        planner = Planner.from_settings(gemini(fake.url, question_timeout_s=2), recorder=recorder)
        start = time.monotonic()
        first = planner.analyze(analyze_input())
        took = time.monotonic() - start
        start = time.monotonic()
        second = planner.analyze(analyze_input().model_copy(update={"threshold": 0.9}))
        again = time.monotonic() - start
        assert len(fake.requests) == 1
    assert first.backend == "offline" and first.fallback is not None
    assert "no answer within the question's 2.0 s" in first.fallback
    assert 1.5 < took < 3.5, took
    assert second.backend == "offline" and again < 0.5, again  # down: answered at once
    assert [d.backend for d in recorder.decisions] == ["gemini", "offline", "offline"]


def test_retries_share_the_question_s_time() -> None:
    """Each attempt times out after 1 s (the HTTP timeout); the question's 2.5 s leave room
    for two or three attempts, never the four that retries allow."""
    with serve([hang()]) as fake:
        planner = Planner.from_settings(gemini(fake.url, timeout_s=1, question_timeout_s=2.5))
        start = time.monotonic()
        answer = planner.analyze(analyze_input())
        took = time.monotonic() - start
        asked = len(fake.requests)
    assert answer.backend == "offline" and 2 <= asked <= 3 and took < 4, (asked, took)


def test_a_stop_requested_mid_call_ends_it_within_two_seconds(sqlite_db: Database) -> None:
    recorder = DatabaseRecorder(sqlite_db, experiment(sqlite_db, "s"))
    asked_at: list[float] = []

    def should_stop() -> bool:
        return bool(asked_at) and time.monotonic() > asked_at[0] + 0.5

    with serve([hang()]) as fake:
        planner = Planner.from_settings(
            gemini(fake.url, timeout_s=60, question_timeout_s=600),
            recorder=recorder, should_stop=should_stop,
        )  # fmt: skip
        asked_at.append(time.monotonic())
        with pytest.raises(PlannerStopped):
            planner.analyze(analyze_input())
        took = time.monotonic() - asked_at[0]
    assert took < 2, took
    [row] = rows(sqlite_db)
    assert row.error == "abandoned: stop requested" and row.latency_s > 0.4


def test_a_stop_wakes_a_backoff() -> None:
    stop = threading.Event()
    with serve([openai_error(503)]) as fake:
        planner = Planner.from_settings(
            openai_compat(fake.url, backoff_s=60, backoff_max_s=60), should_stop=stop.is_set
        )
        threading.Timer(0.5, stop.set).start()
        start = time.monotonic()
        with pytest.raises(PlannerStopped):
            planner.analyze(analyze_input())
        took = time.monotonic() - start
    assert len(fake.requests) == 1 and took < 2, took


# --- 8: budgets: the worst case before sending, and across restarts --------------------------

DEAR = {"gemini-2.5-flash": ModelPrice(input=100.0, output=100.0)}
"""$100 per million tokens: the fake's 8,000 + 500 tokens cost $0.85."""


def test_a_call_that_could_overshoot_the_dollars_is_not_sent(sqlite_db: Database) -> None:
    recorder = DatabaseRecorder(sqlite_db, experiment(sqlite_db, "d"))
    not_json = gemini_ok("not JSON at all", prompt_tokens=8_000, out=500, thoughts=0)
    settings = gemini(
        "", prices=DEAR, max_dollars=1.0, gemini_thinking_budget=0, max_output_tokens=1024
    )
    with serve([not_json]) as fake:
        planner = Planner.from_settings(
            settings.model_copy(update={"gemini_base_url": fake.url}), recorder=recorder
        )
        with pytest.raises(BudgetExhausted, match=r"\$0.8500 of \$1.00 used, and the next call"):
            planner.analyze(analyze_input())
        assert len(fake.requests) == 1  # the repair re-ask was not sent
    asked, refused = rows(sqlite_db)
    assert asked.dollars == pytest.approx(0.85) and not asked.valid
    assert refused.error is not None and refused.error.startswith("not sent: planner dollar")
    assert sum(r.dollars for r in rows(sqlite_db)) <= 1.0
    # Nothing is sent when even the first call could overshoot: 4096 output and 1024
    # thinking tokens at flash prices are $0.0128.
    with serve([gemini_ok(GOOD_ANALYSIS)]) as fake:
        p = Planner.from_settings(gemini(fake.url, max_dollars=0.01, on_budget="offline"))
        answer = p.analyze(analyze_input())
        assert fake.requests == [] and answer.backend == "offline"
    assert answer.fallback is not None and "could cost up to $0.01" in answer.fallback


def test_a_call_that_could_overshoot_the_tokens_is_not_sent() -> None:
    with serve([gemini_ok(GOOD_ANALYSIS)]) as fake:
        p = Planner.from_settings(gemini(fake.url, max_tokens=5_000, on_budget="offline"))
        answer = p.analyze(analyze_input())  # 4096 + 1024 output tokens alone are 5,120
        assert fake.requests == [] and answer.backend == "offline"
    assert answer.fallback is not None and "token budget spent" in answer.fallback


def test_calls_tokens_and_dollars_survive_a_restart(sqlite_db: Database, tmp_path: Path) -> None:
    exp = experiment(sqlite_db, "r")
    reply = gemini_ok(GOOD_ANALYSIS, prompt_tokens=1_000, out=100, thoughts=0)
    with serve([gemini_error(503, "UNAVAILABLE"), reply]) as fake:
        settings = gemini(fake.url, max_calls=3)
        first = Planner.from_settings(settings, recorder=DatabaseRecorder(sqlite_db, exp))
        answer = first.analyze(analyze_input())
        # status shows the dollars as soon as the call is recorded, mid-iteration
        [row] = experiment_status(sqlite_db, home=tmp_path)
        assert row["dollars"] == pytest.approx(answer.dollars) and answer.dollars > 0
        assert row["planner_calls"] == 2 and row["planner_tokens"] == 1_100
        again = Planner.from_settings(settings, recorder=DatabaseRecorder(sqlite_db, exp))
        assert (again.budget.calls, again.budget.tokens) == (2, 1_100)  # the 503 was a call
        assert again.budget.dollars == pytest.approx(answer.dollars)
        again.analyze(analyze_input().model_copy(update={"threshold": 0.9}))
        third = Planner.from_settings(settings, recorder=DatabaseRecorder(sqlite_db, exp))
        with pytest.raises(BudgetExhausted, match="3 of 3 calls"):
            third.analyze(analyze_input().model_copy(update={"threshold": 0.7}))
        assert len(fake.requests) == 3
    # Another experiment's calls, offline answers and budget refusals are no calls.
    assert (
        Planner.from_settings(
            settings, recorder=DatabaseRecorder(sqlite_db, experiment(sqlite_db, "other"))
        ).budget.calls
        == 0
    )
    memory = MemoryRecorder(
        [DecisionRecord("analyze", "offline", "rules", "p"),
         DecisionRecord("analyze", "gemini", "m", "p", error="not sent: planner call budget"),
         DecisionRecord("analyze", "gemini", "m", "p", tokens_in=5, dollars=0.5)]
    )  # fmt: skip
    restored = Planner.from_settings(settings, recorder=memory).budget
    assert (restored.calls, restored.tokens, restored.dollars) == (1, 5, 0.5)
