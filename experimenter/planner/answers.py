"""The answers to the planner's three questions, as Pydantic models and as response schemas.

A backend returns JSON; it is parsed into one of these models (``Progress``, ``Proposals``,
``Decomposition``), so the graph only ever sees typed answers. The JSON Schema handed to the
model (``answer_schema``) is written out by hand rather than taken from
``model_json_schema()``: Gemini's response schema takes an OpenAPI subset (no ``$ref``, no
type unions, no free-form maps), and a task spec inside an answer is the task language's
own flat schema (``tasks.task_json_schema``), which enumerates the scene's objects and the
predicates. Reasons come before verdicts in ``propertyOrdering`` so that a model writes its
reasoning before it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasks import TaskSpec, task_json_schema

Verdict = Literal["learned", "improving", "stalled"]
VERDICTS: tuple[Verdict, ...] = ("learned", "improving", "stalled")
QuestionKind = Literal["analyze", "propose", "decompose"]


class _Answer(BaseModel):
    # Extra keys from a talkative model are dropped; what is required is still checked.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SkillJudgement(_Answer):
    """The verdict on one skill in training."""

    skill_id: int = Field(description="Id of the skill judged.")
    reason: str = Field(description="Why, from the curve: level, trend, noise.")
    verdict: Verdict
    confidence: float = Field(ge=0.0, le=1.0, description="How sure, 0 to 1.")


class Progress(_Answer):
    """Answer to *analyze*: a verdict per skill in training."""

    judgements: list[SkillJudgement]
    summary: str = Field(default="", description="One or two sentences on the whole run.")

    def by_skill(self) -> dict[int, SkillJudgement]:
        return {j.skill_id: j for j in self.judgements}


class ProposedTask(_Answer):
    """One new task. ``spec`` stays a plain mapping here: a spec that does not validate is
    rejected on its own (``vet_proposals``), not the whole answer."""

    rationale: str = Field(description="Why this task, why now.")
    instruction: str = Field(description="The task in the proposer's own words.")
    spec: dict[str, Any] = Field(description="The task in the task language.")


class Proposals(_Answer):
    """Answer to *propose*: a few new tasks (none when nothing new is within reach)."""

    proposals: list[ProposedTask]


class Subtask(_Answer):
    """One step of a decomposition (validated against the scene before it is accepted)."""

    instruction: str
    spec: TaskSpec


class Decomposition(_Answer):
    """Answer to *decompose*: ordered subtasks, each to be matched to a library skill."""

    rationale: str = ""
    subtasks: list[Subtask] = Field(min_length=1)


ANSWERS: dict[QuestionKind, type[BaseModel]] = {
    "analyze": Progress,
    "propose": Proposals,
    "decompose": Decomposition,
}


def _obj(description: str, properties: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(order),
        "propertyOrdering": list(order),
    }


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def answer_schema(
    kind: QuestionKind, *, objects: Sequence[str], count: int = 3, max_subtasks: int = 6
) -> dict[str, Any]:
    """The response schema of question ``kind`` for a scene with these objects.

    Built once per arguments and shared: treat it as read-only (copy before changing it).
    """
    return _answer_schema(kind, tuple(objects), count, max_subtasks)


@lru_cache(maxsize=256)
def _answer_schema(
    kind: QuestionKind, objects: tuple[str, ...], count: int, max_subtasks: int
) -> dict[str, Any]:
    if kind == "analyze":
        judgement = _obj(
            "The verdict on one skill in training.",
            {
                "skill_id": {"type": "integer", "description": "Id of the skill, as given."},
                "reason": _text("One sentence: what the curve shows (level, trend, noise)."),
                "verdict": {"type": "string", "enum": list(VERDICTS)},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            ["skill_id", "reason", "verdict", "confidence"],
        )
        return _obj(
            "A verdict for every skill in training.",
            {
                "judgements": {"type": "array", "items": judgement},
                "summary": _text("One or two sentences on the run as a whole."),
            },
            ["judgements", "summary"],
        )
    if kind == "propose":
        task = _obj(
            "A new task for the robot.",
            {
                "rationale": _text("Why this task, and why now (what it builds on)."),
                "instruction": _text("The task in plain English."),
                "spec": task_json_schema(objects),
            },
            ["rationale", "instruction", "spec"],
        )
        return _obj(
            "New tasks, easiest first.",
            {
                "proposals": {
                    "type": "array",
                    "items": task,
                    "minItems": 1,
                    "maxItems": count,
                }
            },
            ["proposals"],
        )
    if kind == "decompose":
        step = _obj(
            "One subtask, to be done after the previous one.",
            {
                "instruction": _text("The subtask in plain English."),
                "spec": task_json_schema(objects),
            },
            ["instruction", "spec"],
        )
        return _obj(
            "The task as ordered subtasks.",
            {
                "rationale": _text("How the subtasks achieve the task."),
                "subtasks": {
                    "type": "array",
                    "items": step,
                    "minItems": 1,
                    "maxItems": max_subtasks,
                },
            },
            ["rationale", "subtasks"],
        )
    raise ValueError(f"unknown question {kind!r}; allowed: analyze, propose, decompose")
