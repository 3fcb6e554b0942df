"""Vetting proposals: a task is trained only if its spec validates and it is new.

A rejected proposal keeps the validator's message (or the duplicate it repeats) as its
reason; ``Review.rejections()`` turns them into the next proposal prompt's input, so the
model sees what was wrong with its earlier tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from experimenter.planner.answers import Proposals
from experimenter.planner.inputs import Rejection
from storage.enums import TaskStatus
from tasks import TaskSpec, TaskSpecError, canonical_instruction, validate
from tasks.scene import SceneLike


@dataclass(frozen=True)
class AcceptedTask:
    spec: TaskSpec
    """Validated, in canonical form."""
    spec_hash: str
    instruction: str
    """The canonical instruction (what the policy reads)."""
    wording: str
    """The proposer's own words (for display)."""
    rationale: str


@dataclass(frozen=True)
class RejectedTask:
    spec: dict[str, Any]
    wording: str
    status: Literal[TaskStatus.INVALID, TaskStatus.DUPLICATE]
    reason: str


@dataclass(frozen=True)
class Review:
    accepted: list[AcceptedTask] = field(default_factory=list)
    rejected: list[RejectedTask] = field(default_factory=list)

    def rejections(self) -> list[Rejection]:
        """The rejected proposals as the next proposal prompt receives them."""
        return [Rejection(instruction=r.wording, reason=r.reason) for r in self.rejected]


def vet_proposals(proposals: Proposals, *, scene: SceneLike, known: Mapping[str, str]) -> Review:
    """Split proposals into accepted and rejected.

    ``known`` maps the spec hash of every library skill to its instruction. A proposal is
    rejected as ``invalid`` with the validator's message, or as a ``duplicate`` of a library
    skill or of an earlier proposal in the same answer.
    """
    accepted: list[AcceptedTask] = []
    rejected: list[RejectedTask] = []
    seen: dict[str, str] = {}
    for p in proposals.proposals:
        try:
            spec = validate(p.spec, scene).canonical()
        except TaskSpecError as e:
            rejected.append(RejectedTask(p.spec, p.instruction, TaskStatus.INVALID, str(e)))
            continue
        h = spec.spec_hash()
        if h in known:
            reason = f"duplicate: the library already has this task ({known[h]!r})"
            rejected.append(RejectedTask(p.spec, p.instruction, TaskStatus.DUPLICATE, reason))
        elif h in seen:
            reason = f"duplicate: proposed twice in one answer (as {seen[h]!r})"
            rejected.append(RejectedTask(p.spec, p.instruction, TaskStatus.DUPLICATE, reason))
        else:
            seen[h] = p.instruction
            words = canonical_instruction(spec)
            accepted.append(AcceptedTask(spec, h, words, p.instruction, p.rationale))
    return Review(accepted, rejected)
