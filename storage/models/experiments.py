"""An experiment and what it records over time: iterations, metrics, checkpoints, commands."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import CommandStatus, ExperimentStatus, check_in
from storage.models.base import Base
from storage.types import JSONType, UTCDateTime, utcnow


class Experiment(Base):
    """One run of the experimenter: its configuration, goal, budgets and liveness."""

    __tablename__ = "experiments"
    __table_args__ = (CheckConstraint(check_in("status", ExperimentStatus), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ExperimentStatus.CREATED.value)
    planner_backend: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The experiment's settings as given at start-up."""
    goal: Mapped[str | None] = mapped_column(Text)
    """The goal task's instruction, if the experiment has one."""
    goal_spec: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    budgets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Limits: env steps, wall seconds, planner dollars."""
    env_steps_used: Mapped[int] = mapped_column(BigInteger, default=0)
    wall_seconds_used: Mapped[float] = mapped_column(Float, default=0.0)
    dollars_used: Mapped[float] = mapped_column(Float, default=0.0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Last sign of life of the daemon running it."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    """Why the daemon last ended: a budget spent, the goal learned, a signal or stop command,
    a full disk (migration 0006); None while it runs."""


class Iteration(Base):
    """One pass of the loop (monitor ... evaluate) of an experiment."""

    __tablename__ = "iterations"
    __table_args__ = (UniqueConstraint("experiment_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="running")
    env_steps: Mapped[int] = mapped_column(BigInteger, default=0)
    """Environment steps of the experiment so far, when the iteration ended."""
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Metric(Base):
    """One point of a named time series (loss, return, success of the goal ...)."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_series", "experiment_id", "name", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    iteration_id: Mapped[int | None] = mapped_column(
        ForeignKey("iterations.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(100))
    step: Mapped[int] = mapped_column(BigInteger)
    """The x axis: environment steps (or gradient steps, as the name says)."""
    value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Checkpoint(Base):
    """A saved learner (or graph) state; the bytes are an artifact."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    iteration_id: Mapped[int | None] = mapped_column(
        ForeignKey("iterations.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32), default="learner")
    artifact_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    env_steps: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Command(Base):
    """A request from the dashboard or the CLI to a daemon, consumed exactly once.

    A daemon claims a pending command with a conditional update (``storage.commands``), so
    two daemons never both run it.
    """

    __tablename__ = "commands"
    __table_args__ = (
        CheckConstraint(check_in("status", CommandStatus), name="status"),
        Index("ix_commands_queue", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    """What to do: pause, resume, stop, approve, reject ..."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=CommandStatus.PENDING.value)
    created_by: Mapped[str] = mapped_column(String(100), default="cli")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
