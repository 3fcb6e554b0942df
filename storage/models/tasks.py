"""Proposed tasks and the ordered subtasks each was decomposed into."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import DecidedBy, TaskStatus, check_in
from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class Task(Base):
    """A task proposal: the spec, who proposed it and why, and what became of it."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(check_in("status", TaskStatus), name="status"),
        CheckConstraint(check_in("proposed_by", DecidedBy), name="proposed_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    iteration_id: Mapped[int | None] = mapped_column(
        ForeignKey("iterations.id", ondelete="SET NULL")
    )
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    """The spec as proposed (``None`` when the proposal did not parse)."""
    spec_hash: Mapped[str | None] = mapped_column(String(16), index=True)
    instruction: Mapped[str | None] = mapped_column(Text)
    wording: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(16), default=DecidedBy.PLANNER.value)
    reason: Mapped[str] = mapped_column(Text, default="")
    """Why the proposer wants it."""
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.PROPOSED.value)
    verdict: Mapped[str] = mapped_column(Text, default="")
    """Why it was rejected (invalid, duplicate, refused by a person), fed to the next prompt."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DecompositionStep(Base):
    """Subtask ``position`` of a task, and the library skill it was matched to (or made)."""

    __tablename__ = "decomposition_steps"
    __table_args__ = (UniqueConstraint("task_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    instruction: Mapped[str] = mapped_column(Text)
    wording: Mapped[str | None] = mapped_column(Text)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skills.id", ondelete="SET NULL"))
    matched_existing: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when retrieval found the skill in the library; False when it was added."""
    score: Mapped[float | None] = mapped_column(Float)
    """Retrieval score of the match."""
