"""The openai backend with the official client against a fake chat-completions server."""

from __future__ import annotations

import base64

import pytest
from planner_fakes import openai_error, openai_ok, serve
from planner_helpers import GOOD_ANALYSIS, OBJECTS, analyze_input, pictures, propose_input

from experimenter.planner import Image, MemoryRecorder, ModelPrice, Planner, PlannerSettings

__all__ = ["pictures"]


def planner(url: str, recorder: MemoryRecorder, delays: list[float]) -> Planner:
    config = PlannerSettings(
        backend="openai", openai_base_url=f"{url}/v1", openai_model="fake-vlm", timeout_s=5,
        retries=2, backoff_s=0.01, prices={"fake-vlm": ModelPrice(input=1.0, output=2.0)},
    )  # fmt: skip
    return Planner.from_settings(config, recorder=recorder, sleep=delays.append)


def test_images_go_as_data_urls_and_the_schema_as_response_format(pictures: list[Image]) -> None:
    recorder, delays = MemoryRecorder(), []
    proposal = {"proposals": [{"rationale": "next", "instruction": "lift red", "spec": {
        "stages": [{"all": [{"pred": "lifted", "args": ["red"]}]}]}}]}  # fmt: skip
    with serve([openai_ok(proposal, prompt_tokens=1000, out=500)]) as fake:
        answer = planner(fake.url, recorder, delays).propose(propose_input(), images=pictures)
    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-vlm"
    content = request.body["messages"][0]["content"]
    urls = [c["image_url"]["url"] for c in content if c["type"] == "image_url"]
    prefix = "data:image/png;base64,"
    assert [base64.b64decode(u.removeprefix(prefix)) for u in urls] == [p.png for p in pictures]
    assert content[-1]["type"] == "text" and "Propose 3 new task(s)" in content[-1]["text"]
    fmt = request.body["response_format"]
    assert fmt["type"] == "json_schema"
    spec_schema = fmt["json_schema"]["schema"]["properties"]["proposals"]["items"]
    args = spec_schema["properties"]["spec"]["properties"]["stages"]["items"]["properties"]
    assert args["all"]["items"]["properties"]["args"]["items"]["enum"] == OBJECTS
    assert "propertyOrdering" not in str(fmt)  # plain JSON Schema for non-Gemini servers
    assert answer.value.proposals[0].instruction == "lift red"
    assert answer.dollars == pytest.approx(1000e-6 + 1000e-6)
    assert recorder.decisions[0].backend == "openai" and recorder.decisions[0].valid


def test_fenced_json_is_accepted_and_rate_limits_are_retried() -> None:
    recorder, delays = MemoryRecorder(), []
    fenced = "```json\n" + __import__("json").dumps(GOOD_ANALYSIS) + "\n```"
    with serve([openai_error(429), openai_error(503), openai_ok(fenced)]) as fake:
        answer = planner(fake.url, recorder, delays).analyze(analyze_input())
    assert answer.backend == "openai" and len(fake.requests) == 3 and len(delays) == 2
    assert [d.valid for d in recorder.decisions] == [False, False, True]


def test_invalid_then_offline_when_the_repair_is_invalid_too() -> None:
    recorder, delays = MemoryRecorder(), []
    missing = {"judgements": [GOOD_ANALYSIS["judgements"][0]], "summary": ""}  # skill 2 unjudged
    with serve([openai_ok(missing)]) as fake:
        answer = planner(fake.url, recorder, delays).analyze(analyze_input())
    assert len(fake.requests) == 2  # the question and one repair, never more
    repair = fake.requests[1].body["messages"][0]["content"][-1]["text"]
    assert "no judgement for skill 2" in repair
    assert answer.backend == "offline" and answer.fallback is not None
    assert "after the repair" in answer.fallback
    assert [d.backend for d in recorder.decisions] == ["openai", "openai", "offline"]


def test_an_endpoint_that_is_not_there_falls_back_to_offline() -> None:
    recorder, delays = MemoryRecorder(), []
    with serve([openai_error(500)]) as fake:
        url = fake.url  # the server stops at the end of the block: nothing listens any more
    answer = planner(url, recorder, delays).analyze(analyze_input())
    assert answer.backend == "offline" and answer.fallback is not None
    assert "Connection" in answer.fallback and len(delays) == 2
