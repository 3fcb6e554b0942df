"""The skill library's tables: skills, their features, components, history, evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import DecidedBy, SkillKind, SkillStatus, check_in
from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class Skill(Base):
    """A task spec, its canonical instruction and how it is executed.

    The evaluation summary columns (``evaluations`` ... ``env_steps``) repeat the newest
    evaluation so that lists and filters by success need no join over the evaluations.
    """

    __tablename__ = "skills"
    __table_args__ = (
        CheckConstraint(check_in("status", SkillStatus), name="status"),
        CheckConstraint(check_in("kind", SkillKind), name="kind"),
        Index("ix_skills_status_id", "status", "id"),
        Index("ix_skills_kind_id", "kind", "id"),
        # Counts by experiment and status, and an experiment's skills in training, read from
        # the index alone (migration 0003).
        Index("ix_skills_experiment_status_id", "experiment_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_hash: Mapped[str] = mapped_column(String(16), index=True)
    """``TaskSpec.spec_hash()``: one skill per spec in each scope (``experiment_id``)."""
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The spec in canonical form."""
    instruction: Mapped[str] = mapped_column(Text)
    """``canonical_instruction(spec)``: what the policy is conditioned on."""
    wording: Mapped[str | None] = mapped_column(Text)
    """The proposer's own words for the skill, kept for display."""
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=SkillStatus.PROPOSED.value)
    primitive: Mapped[str | None] = mapped_column(String(32))
    """For a primitive skill: the scripted controller's registered name."""
    primitive_args: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    stages: Mapped[int] = mapped_column(Integer, default=1)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), index=True
    )
    """The experiment whose skill this is (its status, evaluations and policy are that
    experiment's); none for the shared library: seeded primitives and imported skills."""
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    """The proposal that introduced it."""
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    """The planner call that introduced it."""
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("skills.id", ondelete="SET NULL"), index=True
    )
    """The skill whose decomposition introduced this one."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evaluations: Mapped[int] = mapped_column(Integer, default=0)
    success_rate: Mapped[float | None] = mapped_column(Float, index=True)
    """Success rate of the newest evaluation."""
    success_lower: Mapped[float | None] = mapped_column(Float)
    """Wilson 95 % lower bound of the newest evaluation's success rate (what promotion must
    clear; migration 0005)."""
    best_success_rate: Mapped[float | None] = mapped_column(Float)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    env_steps: Mapped[int | None] = mapped_column(BigInteger)
    """Environment steps of the experiment at the newest evaluation."""


# One skill per spec in each scope: an experiment's own skills (policies belong to experiments,
# so what a skill's status means does too) and the shared library (seeded primitives, imports)
# as scope 0. An expression index, so that SQLite and PostgreSQL both treat "no experiment" as
# one scope (migration 0005).
Index("uq_skills_scope_spec", func.coalesce(Skill.experiment_id, 0), Skill.spec_hash, unique=True)


class SkillFeature(Base):
    """One structural feature of a skill's spec, for filters and retrieval.

    Features are strings: ``obj:red``, ``pred:on``, ``atom:on(red,blue)`` (an atom anywhere)
    and ``final:on(red,blue)`` (an atom of the last stage, what the skill ends with).
    """

    __tablename__ = "skill_features"
    __table_args__ = (Index("ix_skill_features_feature", "feature", "skill_id"),)

    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    feature: Mapped[str] = mapped_column(String(120), primary_key=True)


class SkillComponent(Base):
    """Position ``position`` of a composite skill is the skill ``component_id``."""

    __tablename__ = "skill_components"

    composite_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="RESTRICT"), index=True
    )


class SkillStatusChange(Base):
    """One status change of a skill: from, to, who decided and why."""

    __tablename__ = "skill_status_history"
    __table_args__ = (
        CheckConstraint(check_in("decided_by", DecidedBy), name="decided_by"),
        Index("ix_skill_status_history_skill", "skill_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    """``None`` for the row that records the skill's creation."""
    to_status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(100))
    """Who exactly: a person's name, a model name, a rule."""
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """Measured success of a skill at one point of an experiment."""

    __tablename__ = "evaluations"
    __table_args__ = (
        CheckConstraint("episodes > 0", name="episodes_positive"),
        CheckConstraint("successes >= 0 AND successes <= episodes", name="successes_range"),
        Index("ix_evaluations_skill", "skill_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    iteration_id: Mapped[int | None] = mapped_column(
        ForeignKey("iterations.id", ondelete="SET NULL")
    )
    episodes: Mapped[int] = mapped_column(Integer)
    successes: Mapped[int] = mapped_column(Integer)
    success_rate: Mapped[float] = mapped_column(Float)
    mean_return: Mapped[float | None] = mapped_column(Float)
    env_steps: Mapped[int] = mapped_column(BigInteger, default=0)
    """Environment steps of the experiment so far, when measured."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
