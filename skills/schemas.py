"""What the library hands out: frozen pydantic views of its rows, stable as JSON.

These are the ``--json`` output of ``experimenter skills`` and what the dashboard reads.
Field names and meanings are part of the interface: add fields, never rename or remove.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from skills.stats import wilson_lower


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class SkillPublic(_View):
    """One skill with its newest evaluation figures."""

    id: int
    spec_hash: str = Field(description="Stable hash of the canonical spec (dedup key).")
    instruction: str = Field(description="Canonical instruction, what the policy reads.")
    wording: str | None = Field(description="The proposer's own words, for display.")
    description: str
    kind: str = Field(description="primitive, learned or composite.")
    status: str = Field(description="proposed, training, learned, failed or retired.")
    primitive: str | None = Field(description="Scripted controller of a primitive skill.")
    primitive_args: dict[str, Any] | None
    stages: int
    experiment_id: int | None = Field(
        description="The experiment whose skill this is; null: the shared library."
    )
    evaluations: int = Field(description="Number of evaluations recorded.")
    success_rate: float | None = Field(description="Success rate of the newest evaluation.")
    success_lower: float | None = Field(
        default=None,
        description="Wilson 95 % lower bound of the newest evaluation's success rate.",
    )
    best_success_rate: float | None
    env_steps: int | None = Field(description="Experiment env steps at the newest evaluation.")
    evaluated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SkillRef(_View):
    """A skill named in another's lineage."""

    id: int
    instruction: str
    kind: str
    status: str


class StatusChangePublic(_View):
    """One row of a skill's status history (``from_status`` is null at creation)."""

    from_status: str | None
    to_status: str
    decided_by: str = Field(description="planner, person or numbers.")
    actor: str | None
    decision_id: int | None
    reason: str
    created_at: datetime


class EvaluationPublic(_View):
    """One measurement of a skill."""

    id: int
    skill_id: int
    experiment_id: int | None
    iteration_id: int | None
    episodes: int
    successes: int
    success_rate: float
    mean_return: float | None
    env_steps: int
    created_at: datetime

    @computed_field(description="Wilson 95 % lower bound of the success rate.")  # type: ignore[prop-decorator]
    @property
    def success_lower(self) -> float:
        return wilson_lower(self.successes, self.episodes)


class EvaluationCreate(BaseModel):
    """Input of ``record_evaluations`` (one measurement)."""

    skill_id: int
    episodes: int = Field(gt=0)
    successes: int = Field(ge=0)
    mean_return: float | None = None
    env_steps: int = Field(default=0, ge=0)
    experiment_id: int | None = None
    iteration_id: int | None = None


class TaskRef(_View):
    """The proposal that introduced a skill."""

    id: int
    instruction: str | None
    proposed_by: str
    reason: str
    status: str


class Lineage(BaseModel):
    """Where a skill came from and what it is part of."""

    model_config = ConfigDict(frozen=True)

    task: TaskRef | None = Field(description="Proposal that introduced it.")
    decision_id: int | None = Field(description="Planner call that introduced it.")
    experiment_id: int | None
    parent: SkillRef | None = Field(description="Skill whose decomposition introduced it.")
    children: list[SkillRef] = Field(description="Skills introduced by decomposing this one.")
    components: list[SkillRef] = Field(description="A composite's skills, in execution order.")
    used_in: list[SkillRef] = Field(description="Composite skills that include this one.")


class SkillDetail(BaseModel):
    """Everything about one skill: ``experimenter skills show ID --json``."""

    model_config = ConfigDict(frozen=True)

    skill: SkillPublic
    spec: dict[str, Any] = Field(description="The canonical task spec.")
    history: list[StatusChangePublic] = Field(description="Status changes, oldest first.")
    evaluations: list[EvaluationPublic] = Field(description="Newest first (at most the limit).")
    lineage: Lineage


class SearchHit(BaseModel):
    """A skill found by full-text search, best first."""

    model_config = ConfigDict(frozen=True)

    skill: SkillPublic
    score: float = Field(description="Relevance, higher is better (comparable within a search).")


class Neighbour(BaseModel):
    """A library skill near a subtask: the retrieval result."""

    model_config = ConfigDict(frozen=True)

    skill: SkillPublic
    score: float = Field(description="Combined similarity in [0, 1].")
    structure: float = Field(description="Spec similarity in [0, 1] (0 when no spec given).")
    text: float = Field(description="Word similarity of the instructions in [0, 1].")
