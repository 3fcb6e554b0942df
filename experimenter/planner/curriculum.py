"""The offline experimenter's curriculum: a ladder of tasks, each built on easier ones.

Rungs, for every cube ``o`` and every other cube ``t`` (level, then prerequisites):

| level | rung | spec | needs learned |
| ---: | --- | --- | --- |
| 0 | reach o | ``reach(o)`` | - |
| 1 | grasp o | ``grasped(o)`` | reach o |
| 2 | lift o | ``lifted(o)`` | grasp o |
| 3 | above o t | ``above(o, t)`` | lift o |
| 3 | o near / left of / right of / in front of / behind t | ``near(o, t)``, ... | lift o |
| 4 | stack o on t | ``on(o, t) & released(o)`` | above o t |
| 5 | stack of three a, b, c | ``on(a,b) & released(a)``, ``on(c,a) & released(c)`` | both |

A rung is *open* when every prerequisite is learned (by spec hash) and the rung itself is
not in the library (any status) nor recently rejected. Proposals are open rungs, easiest
first, except that a rung no harder rung builds on (the side relations: near, left of, ...)
counts one level harder and comes after the rungs of that level which lead on: an
open-ended run climbs from holding a block above another to stacking it before it spends
its env steps on thirty side relations, and takes those before the towers.

With a goal, only the rungs the goal needs (its atoms' rungs and their prerequisites,
transitively) are proposed, and the goal itself once all of them are
learned: every env step then goes to the goal's own path. When that path is blocked
(nothing the goal needs is open or in training: a rung on it failed), the goal itself is
proposed at once, to train on its decomposition's data (scripted or learned skills in
order), and other rungs fill the free slots: learning them grows the library, which is what
makes a failed rung due for a retry.

Decomposition follows the stages of a spec: each stage becomes a subtask, preceded by the
steps that lead to it (grasp before lifting, moving or placing; lift before holding
above; reach before grasping; hold above before stacking).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from tasks import TaskSpec, canonical_instruction

RELATIONS = ("near", "left_of", "right_of", "in_front_of", "behind")
RungKey = tuple[str, tuple[str, ...]]
"""``(rung kind, objects)``, e.g. ``("stack", ("red", "blue"))``."""


@dataclass(frozen=True)
class Rung:
    """One task of the ladder."""

    key: RungKey
    level: int
    spec: dict[str, Any]
    spec_hash: str
    instruction: str
    needs: tuple[RungKey, ...]


def _atom(pred: str, *args: str) -> dict[str, Any]:
    return {"pred": pred, "args": list(args)}


def _spec(*stages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"stages": [{"all": list(s)} for s in stages]}


def _rung(key: RungKey, level: int, spec: dict[str, Any], needs: Iterable[RungKey]) -> Rung:
    parsed = TaskSpec.model_validate(spec)
    return Rung(
        key=key,
        level=level,
        spec=spec,
        spec_hash=parsed.spec_hash(),
        instruction=canonical_instruction(parsed),
        needs=tuple(needs),
    )


@cache
def ladder(objects: tuple[str, ...]) -> tuple[Rung, ...]:
    """Every rung for a scene with these cubes, easiest first (built once per scene)."""
    rungs: list[Rung] = []
    for o in objects:
        rungs.append(_rung(("reach", (o,)), 0, _spec([_atom("reach", o)]), ()))
        rungs.append(_rung(("grasp", (o,)), 1, _spec([_atom("grasped", o)]), [("reach", (o,))]))
        rungs.append(_rung(("lift", (o,)), 2, _spec([_atom("lifted", o)]), [("grasp", (o,))]))
    pairs = [(o, t) for o in objects for t in objects if o != t]
    for o, t in pairs:
        lift = [("lift", (o,))]
        rungs.append(_rung(("above", (o, t)), 3, _spec([_atom("above", o, t)]), lift))
        for rel in RELATIONS:
            rungs.append(_rung((rel, (o, t)), 3, _spec([_atom(rel, o, t)]), lift))
    for o, t in pairs:
        stack = [_atom("on", o, t), _atom("released", o)]
        rungs.append(_rung(("stack", (o, t)), 4, _spec(stack), [("above", (o, t))]))
    for a, b in pairs:
        for c in objects:
            if c in (a, b):
                continue
            spec = _spec(
                [_atom("on", a, b), _atom("released", a)], [_atom("on", c, a), _atom("released", c)]
            )
            needs = [("stack", (a, b)), ("stack", (c, a))]
            rungs.append(_rung(("stack3", (a, b, c)), 5, spec, needs))
    return tuple(sorted(rungs, key=lambda r: r.level))


def atom_rungs(atom: Mapping[str, Any]) -> list[RungKey]:
    """The rungs an atom of a goal needs (``released`` needs none of its own)."""
    pred, args = atom.get("pred"), tuple(atom.get("args", ()))
    if pred == "reach":
        return [("reach", args)]
    if pred == "grasped":
        return [("grasp", args)]
    if pred in ("lifted", "on_table", "in_region") and args:
        return [("lift", args[:1])]
    if pred == "above":
        return [("above", args)]
    if pred == "on":
        return [("stack", args)]
    if pred in RELATIONS:
        return [(str(pred), args)]
    return []


def goal_rungs(goal: Mapping[str, Any], rungs: Sequence[Rung]) -> set[RungKey]:
    """Every rung the goal needs: its atoms' rungs and their prerequisites, transitively."""
    by_key = {r.key: r for r in rungs}
    todo = [
        k for stage in goal.get("stages", []) for a in stage.get("all", []) for k in atom_rungs(a)
    ]
    todo += [k for a in goal.get("constraints", []) for k in atom_rungs(a)]
    needed: set[RungKey] = set()
    while todo:
        key = todo.pop()
        if key in needed or key not in by_key:
            continue
        needed.add(key)
        todo.extend(by_key[key].needs)
    return needed


@dataclass(frozen=True)
class Pick:
    """A proposal of the offline experimenter."""

    spec: dict[str, Any]
    instruction: str
    rationale: str


def propose(
    *,
    objects: Sequence[str],
    learned: set[str],
    known: set[str],
    rejected: set[str],
    count: int,
    training: Iterable[str] = (),
    goal: Mapping[str, Any] | None = None,
    goal_hash: str | None = None,
    goal_instruction: str | None = None,
) -> list[Pick]:
    """Up to ``count`` open rungs (see the module docstring).

    ``learned``/``known``/``training``: spec hashes of learned skills / of every library
    skill / of those proposed or in training; ``rejected``: instructions of recent
    rejections (not proposed again).
    """
    rungs = ladder(tuple(objects))
    by_key = {r.key: r for r in rungs}
    is_learned = {r.key: r.spec_hash in learned for r in rungs}
    top = max(r.level for r in rungs)
    dead_end = {r.key for r in rungs if r.level < top} - {k for r in rungs for k in r.needs}
    open_rungs = sorted(
        (
            r
            for r in rungs
            if r.spec_hash not in known
            and r.instruction not in rejected
            and all(is_learned.get(k, False) for k in r.needs)
        ),
        key=lambda r: (r.level + (r.key in dead_end), r.key in dead_end),  # stable otherwise
    )
    picks: list[Pick] = []
    relevant = goal_rungs(goal, rungs) if goal is not None else set()
    # The goal may be a rung itself: it is proposed as the goal, never as a step to itself.
    first = [r for r in open_rungs if r.key in relevant and r.spec_hash != goal_hash]
    rest = [r for r in open_rungs if r.key not in relevant]
    if goal is not None:
        steps = [k for k in relevant if by_key[k].spec_hash != goal_hash]
        ready = all(is_learned.get(k, False) for k in steps)
        # The goal's own training does not make the path busy: with a step failed, other
        # rungs must keep growing the library for the retry of that step.
        pending = set(training)
        busy = bool(first) or any(by_key[k].spec_hash in pending for k in steps)
        wording = goal_instruction or "the goal"
        new_goal = goal_hash is not None and goal_hash not in known and wording not in rejected
        if new_goal and (ready or not busy):
            why = (
                "every skill the goal needs is learned: the goal"
                if ready
                else "nothing on the goal's path can train (a step failed): the goal itself, "
                "on the data of its decomposition"
            )
            picks.append(Pick(dict(goal), wording, why))
        if busy or ready:
            rest = []  # the goal's path has work: nothing off it takes its env steps
    for r in [*first, *rest]:
        if len(picks) >= count:
            break
        built_on = [by_key[k].instruction for k in r.needs]
        why = f"builds on learned {' and '.join(built_on)}" if built_on else "a first skill"
        if r.key in relevant:
            why += "; a step towards the goal"
        picks.append(Pick(r.spec, r.instruction, f"level {r.level}: {why}"))
    return picks[:count]


# --- decomposition ------------------------------------------------------------------------

_MAIN_ORDER = ("on", "above", *RELATIONS, "in_region", "on_table", "lifted", "grasped", "reach")


def _lead_in(atom: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Subtasks that lead to a stage whose main atom is ``atom``."""
    pred, args = atom["pred"], list(atom["args"])
    if pred == "on":
        return [_spec([_atom("grasped", args[0])]), _spec([_atom("above", args[0], args[1])])]
    if pred == "grasped":
        return [_spec([_atom("reach", args[0])])]
    if pred in ("reach", "released"):
        return []
    if pred == "above":
        # Holding a block above another starts from the block in the air: its policy then
        # only moves it across. From a grasp on the table it must also find the height, and
        # in an empty library that rung stalled at 0-5 % (the lift rung is its prerequisite
        # anyway, so it is learned by the time "above" trains).
        return [_spec([_atom("lifted", args[0])])]
    return [_spec([_atom("grasped", args[0])])]


def decompose(task: Mapping[str, Any], *, max_subtasks: int) -> list[dict[str, Any]]:
    """Ordered subtask specs for ``task`` (see the module docstring), at most ``max_subtasks``.

    When the lead-in steps would exceed the bound, the stages alone are returned.
    """
    stages: list[dict[str, Any]] = []
    full: list[dict[str, Any]] = []
    constraints = list(task.get("constraints", []))
    for stage in task.get("stages", []):
        atoms = list(stage.get("all", []))
        own = {"stages": [{"all": atoms}], **({"constraints": constraints} if constraints else {})}
        stages.append(own)
        ranked = sorted(
            (a for a in atoms if a.get("pred") in _MAIN_ORDER),
            key=lambda a: _MAIN_ORDER.index(a["pred"]),
        )
        for step in [*(_lead_in(ranked[0]) if ranked else []), own]:
            if not full or full[-1] != step:
                full.append(step)
    return full if len(full) <= max_subtasks else stages[:max_subtasks]
