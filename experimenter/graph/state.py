"""The loop's state: what LangGraph checkpoints after every node.

Small on purpose: the skill library, evaluations and decisions live in the database, the
networks and the replay in the learner's own checkpoint (referenced here by path and
``checkpoints`` row). Keys of per-skill maps are skill ids as strings (checkpoint-safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoopState:
    """One experiment's place in the loop."""

    experiment_id: int = 0
    """The experiment this loop drives (also the checkpointer's thread)."""
    iteration: int = 0
    """Number of the current (or last) iteration, from 1."""
    iteration_id: int | None = None
    """The ``iterations`` row being run; None between iterations."""
    node: str = ""
    """The last node completed (shown by ``experimenter status``)."""
    new_tasks: list[int] = field(default_factory=list)
    """Task proposals of this iteration still to decompose or review."""
    weights: dict[str, float] = field(default_factory=dict)
    """Training weight per skill id (skills in training, and learned ones against forgetting)."""
    collecting: list[int] = field(default_factory=list)
    """Skills data is collected for this iteration (those in training)."""
    collect_target: int = 0
    """Learner env steps at which this iteration's collection is complete."""
    update_target: int = 0
    """Learner gradient updates at which this iteration's training is complete."""
    training_since: dict[str, int] = field(default_factory=dict)
    """Env steps at which each skill started training (patience before failing it)."""
    env_steps: int = 0
    """Env steps collected by the learner so far."""
    wall_seconds: float = 0.0
    """Wall time spent running the loop, summed over every daemon run."""
    dollars: float = 0.0
    """Planner dollars spent."""
    node_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time spent in each node, summed (planning vs. learning)."""
    learner_checkpoint: str | None = None
    """Folder of the newest complete learner checkpoint."""
    learner_checkpoint_id: int | None = None
    """Its ``checkpoints`` row."""
    stop_reason: str | None = None
    """Why the loop ended (a budget, the goal learned, nothing left to train); None: running."""
    summary: str = ""
    """The last iteration's summary line."""
