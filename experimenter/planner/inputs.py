"""What each question is asked with: typed inputs, from which the prompts are rendered.

The graph fills these from storage and the skill library; the remote backends see them only
through the rendered prompt and the images, the offline backend reads them directly.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasks import TaskSpec


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Image(_Input):
    """A picture shown to the model (PNG bytes; at most 384 px a side costs Gemini 258 tokens)."""

    name: str = Field(description="What it shows, e.g. 'learning_curves.png'.")
    png: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


class CurvePoint(_Input):
    env_steps: int = Field(ge=0)
    success_rate: float = Field(ge=0.0, le=1.0)
    episodes: int = Field(default=0, ge=0, description="Episodes measured (0: not known).")
    lower_bound: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Wilson 95 % lower bound of the success rate."
    )


class SkillProgress(_Input):
    """One skill in training with its evaluations, oldest first."""

    skill_id: int
    instruction: str
    points: list[CurvePoint] = Field(default_factory=list)
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="This skill's own bar where it differs from the run's (the goal's).",
    )  # fmt: skip


class BudgetLine(_Input):
    """One budget: how much is used of how much (``limit`` None: unlimited)."""

    name: str = Field(description="e.g. 'env steps', 'planner dollars', 'wall hours'.")
    used: float
    limit: float | None = None


class AnalyzeInput(_Input):
    """Question 1: how is each skill in training doing?"""

    skills: list[SkillProgress] = Field(min_length=1)
    budgets: list[BudgetLine] = Field(default_factory=list)
    threshold: float = Field(
        default=0.8, ge=0.0, le=1.0, description="Success rate a learned skill must reach."
    )


class LibrarySkill(_Input):
    """A skill of the library as the planner sees it."""

    skill_id: int | None = None
    instruction: str
    spec: dict[str, Any]
    spec_hash: str | None = Field(default=None, description="Computed from the spec if absent.")
    status: str = Field(description="proposed, training, learned, failed or retired.")
    success_rate: float | None = None


class Rejection(_Input):
    """A proposal that was not accepted, and why (fed to the next proposal prompt)."""

    instruction: str
    reason: str


class ProposeInput(_Input):
    """Question 2: which new tasks should be trained next?"""

    objects: list[str] = Field(min_length=1, description="The scene's object names.")
    library: list[LibrarySkill] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)
    goal: TaskSpec | None = Field(
        default=None, description="The goal task's spec, as read where the goal was given."
    )
    goal_instruction: str | None = Field(default=None, description="The goal in its own words.")
    count: int = Field(default=3, ge=1, le=10, description="How many tasks to propose.")


class DecomposeInput(_Input):
    """Question 3: which ordered subtasks achieve this task?"""

    objects: list[str] = Field(min_length=1)
    task: dict[str, Any] = Field(description="The task's spec.")
    instruction: str
    library: list[LibrarySkill] = Field(default_factory=list)
    max_subtasks: int = Field(default=6, ge=1, le=12)
