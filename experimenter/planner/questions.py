"""The three questions: for each, its prompt, response schema, answer model and the checks an
answer must pass beyond its schema.

A failed check is fed back in the one repair re-ask, so its sentences say what to fix.
Proposals are not checked here: a proposal whose spec does not validate is rejected on its
own (``planner.proposals.vet_proposals``) and the others are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from experimenter.planner.answers import (
    ANSWERS,
    Decomposition,
    Progress,
    QuestionKind,
    SkillJudgement,
    answer_schema,
)
from experimenter.planner.inputs import AnalyzeInput, DecomposeInput, ProposeInput
from experimenter.planner.prompts import render_analyze, render_decompose, render_propose
from tasks import TaskSpecError, validate

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
    """Problems that make an answer invalid (quoted in the repair re-ask)."""
    keep: Callable[[Any], tuple[Any, list[str]]] | None = None
    """The usable part of an answer and notes on what was dropped; (None, problems) when
    nothing is usable."""


def _keep_analyze(inp: AnalyzeInput) -> Callable[[Any], tuple[Any, list[str]]]:
    """Keep the valid judgements of an *analyze* answer; the rest become notes.

    A model judging a skill that is not in training (or one twice) still judged the others
    well: those are kept. An answer that leaves a skill in training unjudged is invalid
    (repaired, then answered offline), as one with no valid judgement at all.
    """

    def keep(answer: Progress) -> tuple[Any, list[str]]:
        asked = [s.skill_id for s in inp.skills]
        kept: dict[int, SkillJudgement] = {}
        notes: list[str] = []
        for j in answer.judgements:
            if j.skill_id not in asked:
                notes.append(f"skill {j.skill_id} is not in training; judge only {asked}")
            elif j.skill_id in kept:
                notes.append(f"skill {j.skill_id} judged more than once; the first is kept")
            else:
                kept[j.skill_id] = j
        missing = [f"no judgement for skill {i}; judge every skill id given" for i in asked
                   if i not in kept]  # fmt: skip
        if missing:
            return None, [*missing, *notes]
        return answer.model_copy(update={"judgements": list(kept.values())}), notes

    return keep


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
            lambda _: [], _keep_analyze(inp),
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
    """``(answer, None)`` when ``text`` is a valid answer, else ``(None, what is wrong)``.

    An answer of which only a part is usable (``Question.keep``) comes back as that part,
    with what was dropped as the second item: ``(part, "kept ...; dropped: ...")``, recorded
    as a valid answer with a problem.
    """
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
    if problems:
        return None, _join(problems)
    if q.keep is None:
        return answer, None
    kept, notes = q.keep(answer)
    if kept is None:
        return None, _join(notes)
    return kept, (f"answer kept in part; dropped: {_join(notes)}" if notes else None)


def _join(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS])
    more = len(problems) - MAX_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")
