"""``experimenter planner bench``: the committed labelled set, the offline rules' figures on it
(those in benchmarks/README.md), a deliberately wrong replay file scoring lower, and Gemini
through the real SDK against the fake server with one answer that never becomes valid."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from planner_fakes import Reply, Seen, gemini_ok, serve

from experimenter.cli import main
from experimenter.planner.bench import load_set
from experimenter.planner.plots import png_size
from experimenter.planner.questions import question
from experimenter.planner.record import RecordedAnswer, prompt_digest, write_decisions_file
from tasks import TaskSpec

OFFLINE = {
    "analyze": {"accuracy": 27 / 36, "learned": 8 / 12, "improving": 9 / 12, "stalled": 10 / 12},
    "propose": {"proposals": 15, "valid": 1.0, "new": 1.0, "toward_goal": 1.0, "empty": 7},
    "decompose": {"match": 0.6981, "retrieval_top1": 0.6528, "retrieval_top3": 0.6528},
}
"""The offline rules' figures as benchmarks/README.md states them."""


@pytest.fixture(autouse=True)
def _planner_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test sets configures the planner."""
    for name in ("EXPERIMENTER_PLANNER_BACKEND", "EXPERIMENTER_PLANNER_REPLAY_FILE",
                 "EXPERIMENTER_PLANNER_CACHE_DIR", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                 "EXPERIMENTER_PLANNER_GEMINI_API_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def bench(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["planner", "bench", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_committed_set_is_labelled_from_runs_and_every_question_renders() -> None:
    labelled = load_set()
    assert labelled.size() == {"analyze": 36, "propose": 20, "decompose": 12}
    assert Counter(a.label for a in labelled.analyze) == {
        "learned": 12, "improving": 12, "stalled": 12
    }  # fmt: skip
    assert len({a.id for a in labelled.analyze}) == 36
    for a in labelled.analyze:
        assert max(png_size(labelled.image(a.curves).png)) <= 384
        assert a.input.skills[0].instruction in question(a.input).prompt
    assert sum(p.input.goal is not None for p in labelled.propose) >= 6
    for d in labelled.decompose:
        library = {k.spec_hash for k in d.input.library}
        steps = [TaskSpec.model_validate(s).canonical().spec_hash() for s in d.reference]
        assert set(steps) <= library, d.id  # every known subtask can be retrieved
        assert len(steps) <= d.input.max_subtasks
        question(d.input)


def test_the_offline_rules_score_the_figures_the_readme_states(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = bench(capsys, "--planner", "offline")
    assert out["backend"] == "offline" and len(out["questions"]) == 68
    assert out["replaced"] == 0
    a, p, d = out["analyze"], out["propose"], out["decompose"]
    assert a["answered"] == 36 and p["answered"] == 20 and d["answered"] == 12
    assert a["accuracy"] == pytest.approx(OFFLINE["analyze"]["accuracy"])
    for label in ("learned", "improving", "stalled"):
        assert a["recall"][label] == pytest.approx(OFFLINE["analyze"][label])
    for key, value in OFFLINE["propose"].items():
        assert p[key] == pytest.approx(value), key
    for key, value in OFFLINE["decompose"].items():
        assert d[key] == pytest.approx(value, abs=1e-4), key
    cost = out["cost"]["analyze"]
    assert cost["dollars_total"] == 0 and cost["tokens_in"] == 0  # rules cost nothing
    # A person's summary says the same.
    assert main(["planner", "bench", "--planner", "offline"]) == 0
    text = capsys.readouterr().out
    assert "verdict agrees with what training later showed 75%" in text
    assert "analyze    36/36" in text


WRONG = {"learned": "stalled", "improving": "learned", "stalled": "improving"}


def wrong_answers() -> list[RecordedAnswer]:
    """Every question of the set answered badly, but in the answers' schema: each verdict
    another label's, each proposal a duplicate of the library (or not a task at all when the
    library is empty), each decomposition one unrelated push."""
    labelled = load_set()
    out = []

    def add(inp: Any, answer: dict[str, Any]) -> None:
        q = question(inp)
        out.append(RecordedAnswer(kind=q.kind, prompt_sha256=prompt_digest(q.prompt),
                                  response=json.dumps(answer)))  # fmt: skip

    for a in labelled.analyze:
        add(a.input, {"summary": "", "judgements": [{
            "skill_id": a.skill_id, "reason": "wrong on purpose", "verdict": WRONG[a.label],
            "confidence": 0.9}]})  # fmt: skip
    for p in labelled.propose:
        lib = p.input.library
        spec = lib[0].spec if lib else {"stages": [{"all": [{"pred": "fly", "args": ["red"]}]}]}
        add(p.input, {"proposals": [{"rationale": "r", "instruction": "again", "spec": spec}]})
    push = {"stages": [{"all": [{"pred": "in_region", "args": ["green"], "region": "left"}]}]}
    for d in labelled.decompose:
        add(d.input, {"rationale": "r", "subtasks": [{"instruction": "push", "spec": push}]})
    return out


def test_a_wrong_replay_file_scores_lower_than_the_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wrong.jsonl"
    write_decisions_file(path, wrong_answers())
    monkeypatch.setenv("EXPERIMENTER_PLANNER_REPLAY_FILE", str(path))
    wrong = bench(capsys, "--planner", "replay")
    rules = bench(capsys, "--planner", "offline")
    assert wrong["analyze"]["answered"] == 36  # its own answers, scored as they are
    assert wrong["analyze"]["accuracy"] == 0 < rules["analyze"]["accuracy"]
    assert wrong["analyze"]["learned_too_early"] == 12
    assert wrong["propose"]["new"] == 0 < rules["propose"]["new"]
    assert wrong["propose"]["valid"] < rules["propose"]["valid"]
    for key in ("match", "retrieval_top1", "retrieval_top3"):
        assert wrong["decompose"][key] == 0 < rules["decompose"][key], key


COST = 900 * 0.30e-6 + (120 + 30) * 2.50e-6
"""One fake Gemini answer at gemini-2.5-flash prices: 900 prompt tokens, 120 + 30 thinking."""


def model(seen: Seen, broken: list[int]) -> Reply:
    """A fake Gemini answering each question from its prompt: every skill improving, two
    tasks (one not of the task language), the task as its own subtask; the first analyze
    question and its repair get text that is not JSON."""
    props = seen.body["generationConfig"]["responseSchema"]["properties"]
    prompt = seen.body["contents"][0]["parts"][-1]["text"]
    if "judgements" in props:
        if len(broken) < 2:
            broken.append(1)
            return gemini_ok("I think it is learning.")
        [skill] = re.findall(r"^- (\d+): ", prompt, re.MULTILINE)
        return gemini_ok({"summary": "", "judgements": [{
            "skill_id": int(skill), "reason": "rising", "verdict": "improving",
            "confidence": 0.6}]})  # fmt: skip
    if "proposals" in props:
        reach = {"stages": [{"all": [{"pred": "reach", "args": ["blue"]}]}]}
        fly = {"stages": [{"all": [{"pred": "fly", "args": ["red"]}]}]}
        return gemini_ok({"proposals": [
            {"rationale": "r", "instruction": "reach blue", "spec": reach},
            {"rationale": "r", "instruction": "fly", "spec": fly}]})  # fmt: skip
    task = json.loads(re.search(r"^Spec: (.*)$", prompt, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return gemini_ok({"rationale": "r", "subtasks": [{"instruction": "the task", "spec": task}]})


def test_gemini_through_the_fake_server_counts_a_misbehaving_answer_as_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken: list[int] = []
    record = tmp_path / "gemini.jsonl"
    with serve(lambda seen: model(seen, broken)) as fake:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.setenv("EXPERIMENTER_PLANNER_GEMINI_BASE_URL", fake.url)
        monkeypatch.setenv("EXPERIMENTER_PLANNER_GEMINI_API_VERSION", "v1beta")
        out = bench(capsys, "--planner", "gemini", "--record", str(record))
    labelled = load_set()
    assert len(fake.requests) == 68 + 1  # every question once, and one repair
    a, p, d = out["analyze"], out["propose"], out["decompose"]
    first = out["questions"][0]
    assert first["item"] == labelled.analyze[0].id and not first["own"] and not first["correct"]
    assert "invalid answer after the repair" in first["fallback"]
    assert out["replaced"] == 1 and out["first_replaced_because"] == first["fallback"]
    assert a["answered"] == 35 and a["confusion"]["learned"]["not answered"] == 1
    assert a["accuracy"] == pytest.approx(12 / 36)  # the improving ones, all of them
    assert p["answered"] == 20 and p["valid"] == pytest.approx(0.5)  # "fly" is no task
    assert 0 < p["new"] <= 0.5
    assert d["answered"] == 12 and 0 < d["match"] < 1
    cost = out["cost"]
    assert cost["propose"]["dollars"] == pytest.approx(COST)
    assert cost["propose"]["tokens_in"] == 900 and cost["propose"]["tokens_out"] == 150
    # The broken question paid for both its attempts; the rules' answer cost nothing.
    assert cost["analyze"]["dollars_total"] == pytest.approx(37 * COST)
    # The pictures went with each question as the loop sends them: curve and scene, scene.
    assert sum("inlineData" in json.dumps(r.body) for r in fake.requests) == 37 + 20
    # Its answers, the broken one and its repair included, score the same again for free.
    monkeypatch.setenv("EXPERIMENTER_PLANNER_REPLAY_FILE", str(record))
    again = bench(capsys, "--planner", "replay")
    for kind in ("analyze", "propose", "decompose"):
        assert again[kind] == out[kind], kind


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--planner", "bogus"], "unknown planner backend 'bogus'; allowed: gemini, offline"),
        (["--planner", "gemini"], "the gemini backend needs an API key"),
        (["--planner", "replay"], "the replay backend needs a decisions file"),
        (["--set", "/nonexistent"], "no labelled set at /nonexistent (no set.json); give --set"),
    ],
)
def test_bad_input_is_refused_in_one_line(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["planner", "bench", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
