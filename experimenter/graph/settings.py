"""How a run of the experimenter is configured (one typed object; the CLI is built from it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from tasks import Goal
from tasks.scene import DEFAULT_OBJECTS

MAX_TRAINING = 10
"""Most skills trained at once (K): the planner is asked for at most 10 tasks a call
(``ProposeInput.count``), and proposals fill the free training slots."""


class LoopSettings(BaseModel):
    """The experiment's settings, stored with it and read by the nodes."""

    goal: Goal | None = Field(
        default=None,
        description="Goal task, as read where it was given (the person's words and the "
        "canonical spec); none: open-ended.",
    )  # fmt: skip
    seed_skills: Literal["primitives", "none"] = Field(
        default="primitives", description="Start the library with the scripted primitives."
    )
    review: bool = Field(default=False, description="Proposals wait for a person's approval.")
    max_training: int = Field(
        default=2, ge=1, le=MAX_TRAINING, description="Propose only below K in training."
    )
    collect_steps: int = Field(default=2_000, ge=1, description="Env steps per iteration.")
    updates_per_step: float = Field(default=0.5, gt=0, description="Updates per env step.")
    chain_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Share of data from executing decompositions."
    )
    noise: float = Field(default=0.1, ge=0, description="Exploration noise on executed chains.")
    eval_episodes: int = Field(default=10, ge=1, description="Episodes per evaluation.")
    confirm_episodes: int = Field(
        default=50, ge=1, le=1000,
        description="Episodes a skill measured at the threshold is evaluated on in all (fresh "
        "starts) before it may be promoted: the Wilson 95 % lower bound of its success rate "
        "over them must reach the threshold.",
    )  # fmt: skip
    threshold: float = Field(
        default=0.8, ge=0, le=1,
        description="Success of a learned skill: the Wilson 95 % lower bound must reach it.",
    )  # fmt: skip
    goal_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Success the goal's skill must reach (Wilson lower bound) to be learned and "
        "end the run; a higher bar than the threshold keeps the goal training, toward it, "
        "until a budget ends the run (default: the threshold).",
    )  # fmt: skip
    patience_steps: int = Field(
        default=30_000, ge=0,
        description="Env steps collected for a skill (its own data: about 1/K of the "
        "collection while K skills train) before it may be failed.",
    )  # fmt: skip
    retries: int = Field(
        default=1, ge=0,
        description="Times a failed skill trains again, once the experiment has learned "
        "another skill since it failed (a failed rung is not the end of the road).",
    )  # fmt: skip
    forgetting_weight: float = Field(
        default=0.2, ge=0, description="Training weight of learned skills (against forgetting)."
    )
    video_every: int = Field(
        default=5, ge=0, description="Record an evaluation video every this many iterations."
    )
    max_env_steps: int | None = Field(default=None, ge=1, description="Env step budget.")
    max_hours: float | None = Field(default=None, gt=0, description="Wall-time budget (hours).")
    max_usd: float | None = Field(default=None, ge=0, description="Planner dollar budget.")
    learner: dict[str, Any] = Field(
        default_factory=dict, description="LearnerConfig fields (defaults for the others)."
    )

    @field_validator("goal", mode="before")
    @classmethod
    def _read_text(cls, value: Any) -> Any:
        """A goal given as text (an instruction or spec JSON) is read here, once: a caller's
        own settings, or a configuration stored before goals were kept as read. The daemon's
        scene is always the default one (DESIGN.md, "The arena")."""
        if isinstance(value, str):
            return Goal.read(value, DEFAULT_OBJECTS) if value.strip() else None
        return value

    def threshold_of(self, is_goal: bool) -> float:
        """The success a skill's lower bound must reach: the goal's own bar, or the threshold."""
        if is_goal and self.goal_threshold is not None:
            return self.goal_threshold
        return self.threshold

    def budgets(self) -> dict[str, float | None]:
        return {"env_steps": self.max_env_steps, "hours": self.max_hours, "usd": self.max_usd}
