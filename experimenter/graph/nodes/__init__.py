"""The loop's nodes: each reads the state and the library, does one step, and returns a
partial update of the state. Data access goes through ``skills`` / ``storage`` (no SQL here).

One module per step of the iteration:

- ``lifecycle``: ``monitor`` opens the iteration, ``finish`` records why the loop ended;
- ``judging``: ``analyze`` promotes, keeps or fails each skill in training;
- ``proposing``: ``propose`` asks for new tasks, ``review`` waits for a person's verdicts;
- ``decomposing``: ``decompose`` splits a task into subtasks matched to library skills;
- ``planning``: ``plan`` picks what trains and fixes this iteration's targets;
- ``learning``: ``collect``, ``train`` and ``evaluate``, the learner's half of the iteration;
- ``shared``: what more than one of them needs.

Every node can be run again after a crash without doing its work twice: iterations are
reopened rather than renumbered, proposals and decompositions of the current iteration are
reused, evaluations already stored for the iteration are kept, and collection and training
run up to targets fixed by ``plan`` (so a restart finishes exactly what remained).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from experimenter.graph.context import Context
from experimenter.graph.nodes.decomposing import decompose
from experimenter.graph.nodes.judging import analyze
from experimenter.graph.nodes.learning import collect, evaluate, train
from experimenter.graph.nodes.lifecycle import finish, monitor
from experimenter.graph.nodes.planning import plan
from experimenter.graph.nodes.proposing import propose, review
from experimenter.graph.nodes.shared import Node, Update
from experimenter.graph.state import LoopState

NODES: dict[str, Callable[[Context, LoopState], Update]] = {
    "monitor": monitor,
    "analyze": analyze,
    "propose": propose,
    "decompose": decompose,
    "review": review,
    "plan": plan,
    "collect": collect,
    "train": train,
    "evaluate": evaluate,
    "finish": finish,
}
"""Node name -> step, in loop order."""


def _timed(ctx: Context, name: str, fn: Callable[[Context, LoopState], Update]) -> Node:
    """The node ``fn`` bound to ``ctx``; adds its wall time and the run's totals to the update."""

    def node(state: LoopState) -> Update:
        start = time.monotonic()
        update = fn(ctx, state)
        seconds = dict(state.node_seconds)
        seconds[name] = seconds.get(name, 0.0) + time.monotonic() - start
        return {**update, "node": name, "node_seconds": seconds, "wall_seconds": ctx.wall_seconds()}

    node.__name__ = name
    return node


def bind(ctx: Context) -> dict[str, Node]:
    """Every node bound to ``ctx``, timed."""
    return {name: _timed(ctx, name, fn) for name, fn in NODES.items()}


__all__ = [
    "NODES",
    "analyze",
    "bind",
    "collect",
    "decompose",
    "evaluate",
    "finish",
    "monitor",
    "plan",
    "propose",
    "review",
    "train",
]
