"""Pairs of atoms that can never hold at the same time.

Each rule looks at two well-formed atoms and returns why they contradict, or ``None``. The
validator applies them to every pair inside a stage, and between each stage and the
constraints (which must hold throughout, hence together with every stage).

Rules, where ``V(a, b)`` is ``on(a, b)`` or ``above(a, b)``:

- ``V(a, b)`` with ``V(b, a)``: each above the other;
- two directions on one axis that disagree: ``left_of(a, b)`` with ``right_of(a, b)`` or
  ``left_of(b, a)`` (and likewise ``in_front_of``/``behind``);
- ``grasped(x)`` with ``released(x)``;
- ``on_table(x)`` with ``lifted(x)``, ``on(x, _)`` or ``above(x, _)``;
- ``on(a, c)`` with ``on(b, c)``: two objects on one (cubes of equal footprint cannot both
  be centred on it); ``on(a, b)`` with ``on(a, c)``: one object on two;
- ``in_region(x, r1)`` with ``in_region(x, r2)`` for disjoint regions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tasks.geometry import regions_disjoint
from tasks.spec import Atom

Rule = Callable[[Atom, Atom], str | None]

# Directional predicates as "lower object, higher object" along an axis.
_DIRECTIONS = {"left_of": ("x", False), "right_of": ("x", True),
               "in_front_of": ("y", False), "behind": ("y", True)}  # fmt: skip


def _vertical(p: Atom, q: Atom) -> str | None:
    if p.pred in ("on", "above") and q.pred in ("on", "above") and p.args == q.args[::-1]:
        a, b = p.args
        return f"{a} cannot be above {b} while {b} is above {a}"
    return None


def _horizontal(p: Atom, q: Atom) -> str | None:
    if p.pred not in _DIRECTIONS or q.pred not in _DIRECTIONS:
        return None
    (axis_p, flip_p), (axis_q, flip_q) = _DIRECTIONS[p.pred], _DIRECTIONS[q.pred]
    if axis_p != axis_q:
        return None
    low_p, high_p = p.args[::-1] if flip_p else p.args
    low_q, high_q = q.args[::-1] if flip_q else q.args
    if (low_p, high_p) == (high_q, low_q):
        return f"they order {low_p} and {high_p} in opposite directions along {axis_p}"
    return None


def _grip(p: Atom, q: Atom) -> str | None:
    if (p.pred, q.pred) == ("grasped", "released") and p.args == q.args:
        return f"{p.args[0]} cannot be grasped and released at once"
    return None


def _table(p: Atom, q: Atom) -> str | None:
    if p.pred == "on_table" and q.pred in ("lifted", "on", "above") and q.args[0] == p.args[0]:
        return f"{p.args[0]} cannot rest on the table and be {q.pred.replace('_', ' ')} at once"
    return None


def _stack(p: Atom, q: Atom) -> str | None:
    if p.pred != "on" or q.pred != "on" or p.args == q.args:
        return None
    if p.args[1] == q.args[1]:
        return f"{p.args[0]} and {q.args[0]} cannot both rest on {p.args[1]}"
    if p.args[0] == q.args[0]:
        return f"{p.args[0]} cannot rest on both {p.args[1]} and {q.args[1]}"
    return None


def _regions(p: Atom, q: Atom) -> str | None:
    if p.pred != "in_region" or q.pred != "in_region" or p.args != q.args:
        return None
    if p.region and q.region and regions_disjoint(p.region, q.region):
        return f"{p.args[0]} cannot be in the {p.region} and the {q.region} regions at once"
    return None


RULES: tuple[Rule, ...] = (_vertical, _horizontal, _grip, _table, _stack, _regions)
"""Every rule; each is tried on both orders of a pair."""


def contradiction(p: Atom, q: Atom) -> str | None:
    """Why ``p`` and ``q`` cannot both hold, or ``None``."""
    for rule in RULES:
        reason = rule(p, q) or rule(q, p)
        if reason:
            return reason
    return None


def contradictions(first: Sequence[Atom], second: Sequence[Atom]) -> list[str]:
    """A sentence per contradictory pair (``p`` from ``first``, ``q`` from ``second``).

    When both are the same list, each unordered pair of distinct positions is checked once.
    """
    same = first is second
    out = []
    for i, p in enumerate(first):
        for j, q in enumerate(second):
            if same and j <= i:
                continue
            reason = contradiction(p, q)
            if reason:
                out.append(f"{p} and {q} cannot both hold: {reason}")
    return out
