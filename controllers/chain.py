"""Running steps in order: the one sequencer of scripted primitives and of skills' parts.

A ``Chain`` runs its steps on one arena copy, each until its own success check; a finished
chain holds still, the gripper as last commanded, so that a lifted block stays in the hand.
``run_chain`` runs one in a ``BlocksEnv`` and reports how it went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from controllers.arena import MAX_SPEED
from controllers.layout import ObsLayout
from controllers.primitives import move_to
from controllers.scene import MAX_OPENING, TIMESTEP

HOLD_GAIN = 0.5 / (MAX_SPEED * 25 * TIMESTEP)
"""Gain of ``hold``'s position servo (closes half the error per default control step)."""


def hold(obs: np.ndarray, grip: float | None = None, at: np.ndarray | None = None) -> np.ndarray:
    """Stay still: servo the gripper back to ``at`` (a zero velocity command alone sags
    under a held block's weight), and repeat ``grip``, the last gripper command, so that a
    held object stays squeezed (commanding the current opening would relax the grasp).
    Without ``grip`` the gripper keeps its current opening; without ``at``, no servo."""
    if grip is None:
        grip = 1.0 - 2.0 * float(ObsLayout.gripper_opening(obs)) / MAX_OPENING
    if at is None:
        return np.array([0.0, 0.0, 0.0, grip])
    pos = np.asarray(ObsLayout.gripper_pos(obs), dtype=np.float64)
    return move_to(pos, at, grip, HOLD_GAIN)


class Holder:
    """What a finished run of skills does: stay where it is, the gripper as last commanded.

    Wrap every action the run returns in ``commanded``; once finished, ``act`` holds.
    """

    def __init__(self) -> None:
        self.grip: float | None = None
        self.at: np.ndarray | None = None

    def commanded(self, action: np.ndarray) -> np.ndarray:
        self.grip = float(action[3])
        return action

    def act(self, obs: np.ndarray) -> np.ndarray:
        if self.at is None:  # the position where the run finished
            self.at = np.asarray(ObsLayout.gripper_pos(obs), dtype=np.float64)
        return hold(obs, self.grip, self.at)


class Step(Protocol):
    """One step of a ``Chain``: a primitive, or a part of a skill (``skill_exec``)."""

    @property
    def name(self) -> str:
        """What ``Chain.failed`` reports when this step gives up."""
        ...

    def start(self, obs: np.ndarray) -> None:
        """Bind to the observation where the step begins (called once, before the rest)."""
        ...

    def done(self, obs: np.ndarray) -> bool:
        """The step's own success check: it ends, and the next step starts."""
        ...

    def timed_out(self) -> bool:
        """The step gave up (its time, or its plan, ran out): the chain fails."""
        ...

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The next action."""
        ...


class Chain:
    """Runs steps in order on one arena copy; each ends on its own success or gives up.

    A step already done when it starts is skipped. A step that gives up ends the chain as
    failed (``failed`` is then the step's name): later steps assume what the earlier ones
    achieved. A finished chain holds still, its gripper as last commanded, so a lifted
    block stays in the hand. The one sequencer of primitives and of skills' parts
    (``skill_exec.build_run``).
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        if not steps:
            raise ValueError("a chain needs at least one step")
        self.steps = list(steps)
        self.index = 0
        self.failed: str | None = None
        self._started = False
        self._holder = Holder()

    @property
    def finished(self) -> bool:
        return self.failed is not None or self.index >= len(self.steps)

    @property
    def current(self) -> Step | None:
        return None if self.finished else self.steps[self.index]

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The next action; a finished chain holds still, its gripper as last commanded."""
        while not self.finished:
            step = self.steps[self.index]
            if not self._started:
                step.start(obs)
                self._started = True
            if step.done(obs):
                self.index += 1
                self._started = False
                continue
            if step.timed_out():
                self.failed = step.name
                break
            return self._holder.commanded(step.act(obs))
        return self._holder.act(obs)


@dataclass
class ChainResult:
    """How one run of a chain went."""

    success: bool
    """The task's success predicate held at the end."""
    steps: int
    """Control steps taken."""
    failed: str | None
    """Name of the step that gave up, if any."""
    rewards: np.ndarray
    """The task's reward after every step, shape (steps,)."""
    frames: list[np.ndarray]
    """Rendered frames (only when a camera was given)."""


def run_chain(
    env: Any,
    chain: Chain,
    *,
    seed: int,
    max_steps: int = 200,
    settle_steps: int = 5,
    camera: Any = None,
) -> ChainResult:
    """Run ``chain`` in a ``BlocksEnv`` from ``reset(seed=seed)``; success is the env task's.

    After the chain finishes, ``settle_steps`` more steps let the scene come to rest, so a
    stack that topples counts as a failure.
    """
    obs, info = env.reset(seed=seed)
    rewards: list[float] = []
    frames = [camera.render(env.data)] if camera is not None else []
    after = 0
    steps = 0
    for steps in range(1, max_steps + 1):  # noqa: B007 - steps is reported
        obs, reward, terminated, truncated, info = env.step(chain.act(obs))
        rewards.append(reward)
        if camera is not None:
            frames.append(camera.render(env.data))
        after += chain.finished
        if after > settle_steps or terminated or truncated:
            break
    return ChainResult(
        success=bool(info["success"]),
        steps=steps,
        failed=chain.failed,
        rewards=np.asarray(rewards),
        frames=frames,
    )
