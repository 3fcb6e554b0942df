"""Skill execution: a skill's parts run in order, each until its own success or a timeout.

A *part* is one step of a skill's execution (a ``chain.Step``), and states what it
achieves as a task spec:

- ``ScriptedPart``: a scripted primitive (``controllers.primitives``), preceded by the
  lead-in primitives its precondition needs *in the state where the part starts* (a grasp
  starts with a reach unless the cube is already held; a placement with a grasp and a
  move above unless the cube is already over its support);
- ``PolicyPart``: the learned policy acting under one task (its canonical instruction).

``build_run`` puts the parts in a ``chain.Chain``, the sequencer of primitives too, and
that is what ``Learner.collect(chain=...)`` drives: it has ``act(obs)``, ``finished`` and
``failed``. A part whose spec already holds when it starts is skipped; a part that times out
(or whose scripted plan gives up) ends the run as failed, since later parts assume what
earlier ones achieved. Nothing here has a fixed duration: parts end on their success
predicate.

Pure controllers code: no database, no planner; the policy is a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controllers.chain import Chain, Step
from controllers.compile import CompiledTask, compile_task
from controllers.layout import ObsLayout
from controllers.primitives import Primitive, make_primitive
from tasks import as_task

Policy = Callable[[np.ndarray, int], np.ndarray]
"""``policy(obs, task_id) -> action`` for one observation of shape ``(dim,)``."""


def _held(layout: ObsLayout, obs: np.ndarray, name: str) -> bool:
    return bool(layout.holding(obs, name))


def lead_in(layout: ObsLayout, name: str, args: Mapping[str, Any], obs: np.ndarray) -> list[str]:
    """Primitives to run before primitive ``name`` so that its precondition holds at ``obs``.

    The scripted primitives assume an earlier step: ``grasp`` a gripper around the cube,
    ``lift`` / ``move_above`` / ``place_on`` a held cube. ``held`` is the cube the caller
    means to carry (``args["held"]``, default red) for the ones that carry something.
    """
    held = str(args.get("held", args.get("obj", "red")))
    holding = _held(layout, obs, held)
    if name == "grasp":
        return [] if holding else ["reach"]
    if name in ("lift", "move_above"):
        return [] if holding else ["reach", "grasp"]
    if name == "place_on":
        return ["move_above"] if holding else ["reach", "grasp", "move_above"]
    return []


@dataclass
class ScriptedPart:
    """A scripted primitive and its lead-in, until ``success`` holds or it gives up."""

    layout: ObsLayout
    primitive: str
    """Registered primitive name (``controllers.primitives.PRIMITIVES``)."""
    args: dict[str, Any]
    """Its arguments; ``held`` names the cube carried by move_above/place_on/lift."""
    task: CompiledTask
    """What the part achieves (its success ends the part)."""
    name: str = ""
    timeout: int = 0
    _chain: Chain | None = field(default=None, init=False)
    _steps: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.primitive

    def _make(self, name: str) -> Primitive:
        held = self.args.get("held", self.args.get("obj", "red"))
        own = {k: v for k, v in self.args.items() if k != "held"}
        if name == self.primitive:
            return make_primitive(self.layout, name, **own)
        if name in ("reach", "grasp"):
            return make_primitive(self.layout, name, obj=held)
        # move_above as a lead-in of place_on goes over place_on's target.
        return make_primitive(self.layout, name, **own)

    def start(self, obs: np.ndarray) -> None:
        names = [*lead_in(self.layout, self.primitive, self.args, obs), self.primitive]
        plan = [self._make(n) for n in names]
        self.timeout = sum(p.timeout for p in plan)
        self._chain, self._steps = Chain(plan), 0

    def done(self, obs: np.ndarray) -> bool:
        # Done once the primitive itself has ended (done or given up) with the task holding:
        # the task can hold in passing before that (a cube carried over its target is "on" it
        # within the z tolerance for a moment), and ending there left place_on's cube
        # hovering above its target.
        # A task that holds before the part acts at all is achieved already: skip the part.
        chain = self._chain
        ended = chain is not None and chain.finished and chain.index >= len(chain.steps) - 1
        if not ended and self._steps > 0:
            return False
        return bool(self.task.success(obs[None])[0])

    def timed_out(self) -> bool:
        # The chain ran out (a primitive timed out, or all ended without the part's success).
        return self._chain is None or self._chain.finished or self._steps >= self.timeout

    def act(self, obs: np.ndarray) -> np.ndarray:
        if self._chain is None:
            raise RuntimeError(f"part {self.name!r} acted before start()")
        self._steps += 1
        return self._chain.act(obs)


@dataclass
class PolicyPart:
    """The learned policy under task ``task_id`` until ``success`` holds or ``timeout``."""

    policy: Policy
    task_id: int
    task: CompiledTask
    timeout: int
    name: str = "policy"
    _steps: int = field(default=0, init=False)

    def start(self, obs: np.ndarray) -> None:
        self._steps = 0

    def done(self, obs: np.ndarray) -> bool:
        return bool(self.task.success(obs[None])[0])

    def timed_out(self) -> bool:
        return self._steps >= self.timeout

    def act(self, obs: np.ndarray) -> np.ndarray:
        self._steps += 1
        return np.asarray(self.policy(obs, self.task_id), dtype=np.float64)


@dataclass(frozen=True)
class PartSpec:
    """A part as plain data (what a planner's decomposition and the library yield).

    ``kind`` is ``primitive`` (``primitive``, ``args``) or ``policy`` (``task_id``); ``spec``
    is what the part achieves (a task-language dict or instruction).
    """

    kind: str
    spec: Mapping[str, Any] | str
    primitive: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    task_id: int | None = None


def build_run(
    parts: Sequence[PartSpec],
    layout: ObsLayout,
    *,
    policy: Policy | None = None,
    policy_timeout: int = 100,
) -> Chain:
    """A fresh run of ``parts``, in a ``Chain`` (call once per episode)."""
    built: list[Step] = []
    for p in parts:
        task = compile_task(as_task(p.spec, layout), layout)
        if p.kind == "primitive":
            if p.primitive is None:
                raise ValueError(f"a primitive part names its primitive; got {p}")
            built.append(ScriptedPart(layout, p.primitive, dict(p.args), task))
        elif p.kind == "policy":
            if policy is None or p.task_id is None:
                raise ValueError("a policy part needs a policy and a task id")
            built.append(PolicyPart(policy, p.task_id, task, policy_timeout))
        else:
            raise ValueError(f"unknown part kind {p.kind!r}; use 'primitive' or 'policy'")
    return Chain(built)


@dataclass(frozen=True)
class SeedPrimitive:
    """A scripted primitive as a library skill: what it achieves and how it is called."""

    primitive: str
    args: dict[str, Any]
    spec: dict[str, Any]
    wording: str


def seed_primitives(layout: ObsLayout) -> list[SeedPrimitive]:
    """Every primitive skill of a scene: reach, grasp, lift and release each cube, move one
    cube above another and place it on it, push each cube to each side of the table."""
    cubes = list(layout.object_names)
    out: list[SeedPrimitive] = []

    def atom(pred: str, *objs: str, **params: Any) -> dict[str, Any]:
        return {"stages": [{"all": [{"pred": pred, "args": list(objs), **params}]}]}

    for o in cubes:
        out.append(SeedPrimitive("reach", {"obj": o}, atom("reach", o), f"reach the {o} block"))
        out.append(SeedPrimitive("grasp", {"obj": o}, atom("grasped", o), f"grasp the {o} block"))
        out.append(SeedPrimitive("lift", {"obj": o}, atom("lifted", o), f"lift the {o} block"))
        out.append(
            SeedPrimitive("release", {"held": o}, atom("released", o), f"release the {o} block")
        )
        for direction in ("left", "right", "front", "back"):
            out.append(
                SeedPrimitive(
                    "push",
                    {"obj": o, "direction": direction},
                    atom("in_region", o, region=direction),
                    f"push the {o} block to the {direction}",
                )
            )
    for o in cubes:
        for t in cubes:
            if o == t:
                continue
            out.append(
                SeedPrimitive(
                    "move_above",
                    {"obj": t, "held": o},
                    atom("above", o, t),
                    f"hold the {o} block above the {t} block",
                )
            )
            out.append(
                SeedPrimitive(
                    "place_on",
                    {"obj": t, "held": o},
                    atom("on", o, t),
                    f"place the {o} block on the {t} block",
                )
            )
    return out
