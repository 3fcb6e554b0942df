"""The three questions: for each, its prompt, response schema, answer model and the checks an
answer must pass beyond its schema.

A failed check is fed back in the one repair re-ask, so its sentences say what to fix.
Proposals are not checked here: a proposal whose spec does not validate is rejected on its
own (``planner.proposals.vet_proposals``) and the others are kept.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from controllers.tasks import TaskSpecError, validate
from experimenter.planner.inputs import AnalyzeInput, DecomposeInput, ProposeInput
from experimenter.planner.prompts import render_analyze, render_decompose, render_propose
from experimenter.planner.schemas import (
    ANSWERS,
    Decomposition,
    Progress,
    QuestionKind,
    answer_schema,
)

Inputs = AnalyzeInput | ProposeInput | DecomposeInput
MAX_PROBLEMS = 12
"""Problems quoted in a repair prompt (the rest are counted)."""


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    prompt: str
    schema: dict[str, Any]
    answer: type[BaseModel]
    check: Callable[[Any], list[str]]


def _check_analyze(inp: AnalyzeInput) -> Callable[[Any], list[str]]:
    def check(answer: Progress) -> list[str]:
        asked = [s.skill_id for s in inp.skills]
        counts = Counter(j.skill_id for j in answer.judgements)
        problems = [
            f"no judgement for skill {i}; judge every skill id given"
            for i in asked
            if i not in counts
        ]
        problems += [
            f"skill {i} is not in training; judge only the ids given ({asked})"
            for i in counts
            if i not in asked
        ]
        problems += [f"skill {i} judged {n} times; once each" for i, n in counts.items() if n > 1]
        return problems

    return check


def _check_decompose(inp: DecomposeInput) -> Callable[[Any], list[str]]:
    def check(answer: Decomposition) -> list[str]:
        problems = []
        if len(answer.subtasks) > inp.max_subtasks:
            problems.append(f"{len(answer.subtasks)} subtasks; at most {inp.max_subtasks}")
        objects = tuple(inp.objects)
        for i, sub in enumerate(answer.subtasks, start=1):
            found = spec_problems(sub.spec.model_dump_json(exclude_none=True), objects)
            problems += [f"subtask {i} ({sub.instruction!r}): {p}" for p in found]
        return problems

    return check


@lru_cache(maxsize=4096)
def spec_problems(spec_json: str, objects: tuple[str, ...]) -> tuple[str, ...]:
    """The validator's problems with a spec (memoised: the same subtasks recur)."""
    try:
        validate(spec_json, objects)
    except TaskSpecError as e:
        return tuple(e.problems)
    return ()


def question(inp: Inputs) -> Question:
    """The question ``inp`` asks."""
    if isinstance(inp, AnalyzeInput):
        return Question(
            "analyze", render_analyze(inp), answer_schema("analyze", objects=()), Progress,
            _check_analyze(inp),
        )  # fmt: skip
    if isinstance(inp, ProposeInput):
        schema = answer_schema("propose", objects=inp.objects, count=inp.count)
        return Question("propose", render_propose(inp), schema, ANSWERS["propose"], lambda _: [])
    schema = answer_schema("decompose", objects=inp.objects, max_subtasks=inp.max_subtasks)
    return Question(
        "decompose", render_decompose(inp), schema, Decomposition, _check_decompose(inp)
    )


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_answer(q: Question, text: str) -> tuple[BaseModel | None, str | None]:
    """``(answer, None)`` when ``text`` is a valid answer, else ``(None, what is wrong)``."""
    fenced = _FENCE.match(text)  # local models often wrap JSON in a code fence
    body = fenced.group(1) if fenced else text
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        return None, f"the answer is not JSON ({e}); answer with one JSON object only"
    try:
        answer = q.answer.model_validate(data)
    except ValidationError as e:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in e.errors()
        ]
        return None, _join(problems)
    problems = q.check(answer)
    return (answer, None) if not problems else (None, _join(problems))


def _join(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS])
    more = len(problems) - MAX_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")
