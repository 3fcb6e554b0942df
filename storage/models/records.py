"""What the daemon records besides skills: planner decisions, episodes and artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class Artifact(Base):
    """A file of the content-addressed artifact store (``storage.artifacts``)."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    name: Mapped[str | None] = mapped_column(String(200))
    """A human hint (``"curve_iter12.png"``); the content is found by hash."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Decision(Base):
    """One planner call: what was asked, what came back, what it cost."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_experiment", "experiment_id", "id"),
        # The dashboard's filters by kind (and its list of kinds) and by failed calls read
        # these instead of every decision's wide row (migration 0003).
        Index("ix_decisions_kind_id", "kind", "id"),
        Index(
            "ix_decisions_errors",
            "kind",
            "id",
            sqlite_where=text("error IS NOT NULL"),
            postgresql_where=text("error IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE")
    )
    iteration_id: Mapped[int | None] = mapped_column(
        ForeignKey("iterations.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    """analyze, propose, decompose, ..."""
    backend: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(100), default="")
    prompt: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    valid: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    dollars: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DecisionImage(Base):
    """Image ``position`` shown to the planner in a decision."""

    __tablename__ = "decision_images"

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))


class Episode(Base):
    """One collected or evaluated episode; its arrays and video are artifacts."""

    __tablename__ = "episodes"
    __table_args__ = (Index("ix_episodes_experiment", "experiment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE")
    )
    iteration_id: Mapped[int | None] = mapped_column(
        ForeignKey("iterations.id", ondelete="SET NULL")
    )
    skill_id: Mapped[int | None] = mapped_column(
        ForeignKey("skills.id", ondelete="SET NULL"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16), default="collect")
    """collect (training data), evaluate, rollout (policy rollouts for review)."""
    seed: Mapped[int | None] = mapped_column(BigInteger)
    steps: Mapped[int] = mapped_column(Integer)
    env_step: Mapped[int | None] = mapped_column(BigInteger)
    """Collected episodes: the learner's env steps when their collection round began (its
    transitions follow in the replay). Rows at or past the learner's saved count were not
    saved with it; collection removes them before it collects again after a crash."""
    worker: Mapped[str | None] = mapped_column(String(96))
    """Collected episodes: who stepped the arena (``inprocess``, or ``node/actor`` ids of a
    Ray worker); None for rows written before workers were recorded."""
    total_return: Mapped[float] = mapped_column(Float, default=0.0)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    data_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"))
    video_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
