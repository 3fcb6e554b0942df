"""How an experiment runs: the loop's settings, its budgets and its learner, stored with it.

``LoopSettings`` is what an experiment stores as its configuration (``experiments.config``):
the daemon writes it, the loop's nodes read it, the dashboard shows it, and the flags of
``experimenter run`` are built from its fields. Records written by older versions load: a
field they lack takes its default (the learner's own default, never ``experimenter run``'s),
a key no field has is ignored, and a goal stored as text is read as it was then.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from settings.learner import LearnerConfig
from tasks import Goal
from tasks.scene import DEFAULT_OBJECTS

MAX_TRAINING = 10
"""Most skills trained at once (K): the planner is asked for at most 10 tasks a call
(``ProposeInput.count``), and proposals fill the free training slots."""


class Budgets(BaseModel):
    """What an experiment may spend; the run ends when one is spent (none: no limit).

    Each budget is declared here and nowhere else: ``experimenter run``'s flags, the stored
    configuration, the loop's stop test and the dashboard's budget bars read these fields.
    (The planner keeps a cap of its own, ``EXPERIMENTER_PLANNER_MAX_DOLLARS``, for when no
    dollar budget is set; the daemon replaces it with ``max_usd``.)
    """

    max_env_steps: int | None = Field(default=None, ge=1, description="Env step budget.")
    max_hours: float | None = Field(default=None, gt=0, description="Wall-time budget in hours.")
    max_usd: float | None = Field(
        default=None, ge=0, description="Planner budget in US dollars (spent on model calls)."
    )

    def budgets(self) -> dict[str, float | None]:
        """The budgets as the ``experiments.budgets`` record and ``experimenter status --json``
        give them."""
        return {"env_steps": self.max_env_steps, "hours": self.max_hours, "usd": self.max_usd}

    def with_budgets_of(self, given: Budgets) -> Self:
        """These settings with the budgets ``given`` sets: a budget given again replaces this
        one, a budget it leaves unset is kept."""
        update = {name: getattr(given, name) for name in Budgets.model_fields}
        return self.model_copy(update={k: v for k, v in update.items() if v is not None})


class LoopSettings(Budgets):
    """The experiment's settings, stored with it and read by the nodes."""

    # Keys no field has are ignored: records written by other versions of the experimenter.
    model_config = ConfigDict(extra="ignore")

    goal: Goal | None = Field(
        default=None,
        description="Goal task, as read where it was given (the person's words and the "
        "canonical spec); none: open-ended.",
    )  # fmt: skip
    seed_skills: Literal["primitives", "none"] = Field(
        default="primitives",
        description="Start the library with the scripted primitives, or empty.",
    )
    review: bool = Field(
        default=False,
        description="Proposals wait for a person's approval (experimenter approve|reject, or "
        "the dashboard's review page).",
    )  # fmt: skip
    max_training: int = Field(
        default=2, ge=1, le=MAX_TRAINING,
        description=f"Skills trained at once (K), 1 to {MAX_TRAINING}: new tasks are proposed "
        "only while fewer train.",
    )  # fmt: skip
    collect_steps: int = Field(
        default=2_000, ge=1, description="Env steps collected per iteration."
    )
    updates_per_step: float = Field(default=0.5, gt=0, description="Gradient updates per env step.")
    chain_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Share of data from executing decompositions."
    )
    noise: float = Field(default=0.1, ge=0, description="Exploration noise on executed chains.")
    eval_episodes: int = Field(
        default=10, ge=1, description="Evaluation episodes per skill and iteration."
    )
    confirm_episodes: int = Field(
        default=50, ge=1, le=1000,
        description="Episodes a skill measured at the threshold is evaluated on in all (fresh "
        "starts) before it may be promoted: the Wilson 95 % lower bound of its success rate "
        "over them must reach the threshold.",
    )  # fmt: skip
    threshold: float = Field(
        default=0.8, ge=0, le=1,
        description="Success of a learned skill: the Wilson 95 % lower bound of its success "
        "rate must reach it.",
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
    patience_with_successes_steps: int = Field(
        default=150_000, ge=0,
        description="Env steps of its own data a stalled skill gets before it may be failed "
        "when at least 5 % of its own episodes succeeded (its chain of primitives or learned "
        "skills does the task, so the policy has examples to learn from and is slow, not "
        "stuck).",
    )  # fmt: skip
    retries: int = Field(
        default=1, ge=0,
        description="Times a failed skill trains again, once the experiment has learned "
        "another skill since it failed (a failed rung is not the end of the road).",
    )  # fmt: skip
    forgetting_weight: float = Field(
        default=0.2, ge=0, description="Training weight of learned skills (against forgetting)."
    )
    forgetting_total: float = Field(
        default=1.0, ge=0,
        description="Most training weight the learned skills take together: beyond "
        "forgetting_total / forgetting_weight learned skills, they share it, so the skills "
        "in training keep their part of each batch as the library grows.",
    )  # fmt: skip
    video_every: int = Field(
        default=5, ge=0, description="An evaluation video every this many iterations (0: none)."
    )
    learner: LearnerConfig = Field(
        default_factory=LearnerConfig,
        description="The learner's settings (a field a stored record lacks: LearnerConfig's "
        "default).",
    )  # fmt: skip

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
