"""Around every call: budgets, the response cache, replay of recorded decisions, vetting."""

from __future__ import annotations

from pathlib import Path

import pytest
from planner_fakes import gemini_ok, serve
from planner_helpers import GOOD_ANALYSIS, OBJECTS, STACK, analyze_input, propose_input, spec

from experimenter.planner import (
    BudgetExhausted,
    DatabaseRecorder,
    MemoryRecorder,
    Planner,
    PlannerSettings,
    Proposals,
    ProposedTask,
    export_decisions,
    make_backend,
    read_decisions_file,
    vet_proposals,
    write_decisions_file,
)
from experimenter.planner.prompts import render_propose
from storage import Database, runs
from tasks import validate


def gemini(url: str, **settings: object) -> PlannerSettings:
    return PlannerSettings(
        backend="gemini", gemini_api_key="k", gemini_base_url=url, timeout_s=5, **settings
    )


def test_a_spent_budget_stops_asking_and_says_so() -> None:
    recorder = MemoryRecorder()
    with serve([gemini_ok(GOOD_ANALYSIS)]) as fake:
        planner = Planner.from_settings(gemini(fake.url, max_calls=1), recorder=recorder)
        planner.analyze(analyze_input())
        with pytest.raises(BudgetExhausted, match="planner call budget spent: 1 of 1 calls"):
            planner.analyze(analyze_input().model_copy(update={"threshold": 0.9}))
        assert len(fake.requests) == 1  # nothing more was sent
    refused = recorder.decisions[-1]
    assert not refused.valid and refused.error is not None and "budget spent" in refused.error


def test_a_dollar_budget_can_hand_over_to_offline_instead() -> None:
    with serve([gemini_ok(GOOD_ANALYSIS, prompt_tokens=100_000)]) as fake:
        # The first call could cost $0.013 at worst (4096 output + 1024 thinking tokens).
        settings = gemini(fake.url, max_dollars=0.02, on_budget="offline")
        planner = Planner.from_settings(settings)
        first = planner.analyze(analyze_input())  # $0.03: over the limit once it is paid
        second = planner.analyze(analyze_input().model_copy(update={"threshold": 0.9}))
        assert len(fake.requests) == 1
    assert first.backend == "gemini" and second.backend == "offline"
    assert second.fallback is not None and "dollar budget spent" in second.fallback


def test_an_unpriced_gemini_model_is_refused_while_dollars_are_budgeted() -> None:
    with pytest.raises(ValueError, match="no price for Gemini model 'gemini-9-ultra'"):
        Planner.from_settings(gemini("http://127.0.0.1:9", gemini_model="gemini-9-ultra"))


def test_null_in_the_environment_lifts_the_dollar_budget_as_the_refusal_advises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXPERIMENTER_PLANNER_GEMINI_MODEL", "gemini-9-ultra")
    with pytest.raises(ValueError, match="or set EXPERIMENTER_PLANNER_MAX_DOLLARS to null"):
        Planner.from_settings(gemini("http://127.0.0.1:9"))
    monkeypatch.setenv("EXPERIMENTER_PLANNER_MAX_DOLLARS", "null")
    monkeypatch.setenv("EXPERIMENTER_PLANNER_GEMINI_THINKING_BUDGET", "null")
    settings = gemini("http://127.0.0.1:9")
    assert settings.max_dollars is None and settings.gemini_thinking_budget is None
    assert Planner.from_settings(settings).backend.model == "gemini-9-ultra"


def test_the_same_question_is_answered_from_the_cache_even_after_a_restart(tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    with serve([gemini_ok(GOOD_ANALYSIS)]) as fake:
        settings = gemini(fake.url, cache_dir=tmp_path / "cache")
        first = Planner.from_settings(settings, recorder=recorder).analyze(analyze_input())
        again = Planner.from_settings(settings, recorder=recorder).analyze(analyze_input())
        assert len(fake.requests) == 1
    assert again.cache_hit and again.value == first.value and again.dollars == 0
    hit = recorder.decisions[-1]
    assert hit.cache_hit and hit.valid and hit.tokens_in == 0 and hit.backend == "gemini"


def test_recorded_decisions_replay_in_order(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.session() as s:
        exp = runs.create_experiment(s, name="demo", planner_backend="offline")
    recorder = DatabaseRecorder(sqlite_db, experiment_id=exp.id)
    live = Planner.from_settings(PlannerSettings(), recorder=recorder)
    asked = [live.propose(propose_input()), live.analyze(analyze_input())]
    path = tmp_path / "decisions.jsonl"
    write_decisions_file(path, export_decisions(sqlite_db, experiment_id=exp.id))
    assert [a.kind for a in read_decisions_file(path)] == ["propose", "analyze"]
    replay = Planner(make_backend("replay", PlannerSettings(replay_file=path)))
    again = [replay.propose(propose_input()), replay.analyze(analyze_input())]
    assert [a.value for a in again] == [a.value for a in asked]
    assert {a.backend for a in again} == {"replay"}
    # Recorded answers run out: the offline rules answer, and say why.
    extra = replay.analyze(analyze_input())
    assert extra.backend == "offline" and extra.fallback is not None
    assert "no unused 'analyze' answer left" in extra.fallback


def test_invalid_and_duplicate_proposals_are_rejected_with_reasons_for_the_next_prompt() -> None:
    library = {validate(spec([("reach", "red")]), OBJECTS).spec_hash(): "reach the red block"}
    answer = Proposals(
        proposals=[
            ProposedTask(rationale="r", instruction="stack red on purple",
                         spec=spec([("on", "red", "purple")])),
            ProposedTask(rationale="r", instruction="touch red", spec=spec([("reach", "red")])),
            ProposedTask(rationale="r", instruction="stack red on blue", spec=STACK),
            ProposedTask(rationale="r", instruction="red onto blue", spec=STACK),
        ]
    )  # fmt: skip
    review = vet_proposals(answer, scene=OBJECTS, known=library)
    assert [a.instruction for a in review.accepted] == ["stack the red block on the blue block"]
    assert review.accepted[0].wording == "stack red on blue"
    assert [r.status for r in review.rejected] == ["invalid", "duplicate", "duplicate"]
    assert (
        "unknown object(s) 'purple'; this scene has: red, green, blue" in review.rejected[0].reason
    )
    prompt = render_propose(propose_input(rejections=review.rejections()))
    assert "unknown object(s) 'purple'" in prompt and "the library already has" in prompt
