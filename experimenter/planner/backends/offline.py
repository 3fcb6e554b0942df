"""The offline backend: a deterministic rule-based experimenter, no network, no key.

It reads the typed question (``Request.inputs``) rather than the prompt: analysis from the
level and slope of each success curve (``planner.trends``), proposals from the task
ladder (``planner.curriculum``), decomposition by the stages of the spec. Its decisions are
recorded like any other, under backend ``offline`` and model ``rules``; its answers say that
they come from rules, never from a vision-language model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel

from experimenter.planner import curriculum, trends
from experimenter.planner.answers import (
    Decomposition,
    Progress,
    Proposals,
    ProposedTask,
    SkillJudgement,
    Subtask,
)
from experimenter.planner.backends.base import PermanentError, Reply, Request
from experimenter.planner.inputs import AnalyzeInput, DecomposeInput, ProposeInput
from storage.enums import SkillStatus
from tasks import TaskSpec, TaskSpecError, canonical_instruction, validate

LABEL = "offline rules, not a vision-language model"


def _hash(spec: dict[str, object], given: str | None) -> str | None:
    if given is not None:
        return given
    return _hash_of(json.dumps(spec, sort_keys=True))


@lru_cache(maxsize=4096)
def _hash_of(spec_json: str) -> str | None:
    """Spec hash of a JSON text; memoised, as the same library is shown at every call."""
    try:
        return TaskSpec.model_validate_json(spec_json).spec_hash()
    except ValueError:
        return None


@dataclass
class OfflineBackend:
    """Answers every question by rule; same question, same answer."""

    name: str = "offline"
    model: str = "rules"
    remote: bool = False

    def ask(self, request: Request) -> Reply:
        inp = request.inputs
        answer: BaseModel
        if isinstance(inp, AnalyzeInput):
            answer = analyze(inp)
        elif isinstance(inp, ProposeInput):
            answer = propose(inp)
        elif isinstance(inp, DecomposeInput):
            answer = decompose(inp)
        else:
            raise PermanentError(
                f"the offline backend answers from the typed question, got {type(inp).__name__}"
            )
        return Reply(text=answer.model_dump_json(), model=self.model)


def analyze(inp: AnalyzeInput) -> Progress:
    judgements = []
    counts = {"learned": 0, "improving": 0, "stalled": 0}
    for s in inp.skills:
        verdict, reason, confidence = trends.judge(
            s.points, inp.threshold if s.threshold is None else s.threshold
        )
        counts[verdict] += 1
        judgements.append(
            SkillJudgement(
                skill_id=s.skill_id, reason=reason, verdict=verdict, confidence=confidence
            )
        )
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" ({LABEL})"
    return Progress(judgements=judgements, summary=summary)


@lru_cache(maxsize=4096)
def _named(spec_json: str, objects: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``(spec hash, canonical instruction)`` of a valid spec, ``(None, None)`` otherwise."""
    try:
        spec = validate(spec_json, objects)
    except TaskSpecError:
        return None, None
    return spec.spec_hash(), canonical_instruction(spec)


def propose(inp: ProposeInput) -> Proposals:
    learned: set[str] = set()
    known: set[str] = set()
    training: set[str] = set()
    for s in inp.library:
        h = _hash(s.spec, s.spec_hash)
        if h is None:
            continue
        known.add(h)
        if s.status == SkillStatus.LEARNED:
            learned.add(h)
        elif s.status in (SkillStatus.PROPOSED, SkillStatus.TRAINING):
            training.add(h)
    goal = goal_hash = goal_words = None
    if inp.goal is not None:  # read where the goal was given
        goal = inp.goal.model_dump(mode="json", exclude_none=True)
        # Through the cache: hashing and wording a spec cost more than a whole decision.
        goal_hash, goal_words = _named(json.dumps(goal, sort_keys=True), tuple(inp.objects))
    picks = curriculum.propose(
        objects=inp.objects,
        learned=learned,
        known=known,
        rejected={r.instruction for r in inp.rejections},
        count=inp.count,
        training=training,
        goal=goal,
        goal_hash=goal_hash,
        goal_instruction=goal_words,
    )
    return Proposals(
        proposals=[
            ProposedTask(
                rationale=f"{p.rationale} ({LABEL})", instruction=p.instruction, spec=p.spec
            )
            for p in picks
        ]
    )


def decompose(inp: DecomposeInput) -> Decomposition:
    subtasks = []
    for spec in curriculum.decompose(inp.task, max_subtasks=inp.max_subtasks):
        parsed = TaskSpec.model_validate(spec)
        words = _named(json.dumps(spec, sort_keys=True), tuple(inp.objects))[1] or str(parsed)
        subtasks.append(Subtask(instruction=words, spec=parsed))
    return Decomposition(
        rationale=f"one subtask per stage, with lead-in steps ({LABEL})", subtasks=subtasks
    )
