"""The value sets of the status and kind columns (checked by the database too)."""

from __future__ import annotations

from enum import StrEnum


class SkillStatus(StrEnum):
    """Where a skill stands; the allowed changes are ``skills.status.TRANSITIONS``."""

    PROPOSED = "proposed"
    TRAINING = "training"
    LEARNED = "learned"
    FAILED = "failed"
    RETIRED = "retired"


class SkillKind(StrEnum):
    """How a skill is executed."""

    PRIMITIVE = "primitive"
    """A scripted controller of ``controllers.primitives``, named with its arguments."""
    LEARNED = "learned"
    """The shared actor-critic conditioned on the skill's instruction."""
    COMPOSITE = "composite"
    """An ordered list of other skills, executed one after the other."""


class DecidedBy(StrEnum):
    """Who made a decision recorded in the history (a status change, a proposal)."""

    PLANNER = "planner"
    PERSON = "person"
    NUMBERS = "numbers"
    """A rule on measured figures (e.g. a success threshold), no judgement involved."""


class TaskStatus(StrEnum):
    """What became of a proposed task."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


class ExperimentStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"


class CommandStatus(StrEnum):
    """A command's life: pending until one daemon claims it, then done or failed."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"


class CommandKind(StrEnum):
    """What a command asks the daemon to do; its payload in the member's docstring."""

    APPROVE = "approve"
    """Train a waiting proposal: ``{"task_id": int, "reason": str}``."""
    REJECT = "reject"
    """Refuse a waiting proposal: ``{"task_id": int, "reason": str}`` (the reason goes into the
    next propose prompt)."""
    GOAL = "goal"
    """Set the experiment's goal: ``{"goal": instruction or spec JSON}``."""
    PAUSE = "pause"
    """Stop after the current node and wait for ``resume``: ``{}``."""
    RESUME = "resume"
    """Continue a paused experiment: ``{}``."""
    STOP = "stop"
    """Finish the experiment gracefully (checkpoint, then exit): ``{}``."""


def check_in(column: str, values: type[StrEnum]) -> str:
    """SQL text of a CHECK constraint: ``column`` holds one of the enum's values."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"
