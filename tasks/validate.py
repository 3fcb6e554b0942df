"""Validation of a task spec against a scene, reporting every problem at once.

``validate`` raises one ``TaskSpecError`` whose ``problems`` list holds a sentence per
problem, each naming what was wrong and what is allowed, so that a planner (or a VLM asked
to retry) can fix them all in one go.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from tasks.contradictions import contradictions
from tasks.predicates import PREDICATES
from tasks.registry import PARAM_NAMES
from tasks.scene import SceneLike, object_names
from tasks.spec import Atom, TaskSpec


class TaskSpecError(ValueError):
    """A task spec that is malformed or does not fit the scene; ``problems`` lists each issue."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"invalid task spec ({len(self.problems)} problem(s)):\n{lines}")


def parse_spec(spec: TaskSpec | Mapping[str, Any] | str) -> TaskSpec:
    """A ``TaskSpec`` from a spec, a dict or a JSON string; bad structure is a ``TaskSpecError``."""
    if isinstance(spec, TaskSpec):
        return spec
    try:
        if isinstance(spec, str):
            return TaskSpec.model_validate_json(spec)
        return TaskSpec.model_validate(spec)
    except ValidationError as e:
        raise TaskSpecError([_pydantic_problem(err) for err in e.errors()]) from None


def validate(spec: TaskSpec | Mapping[str, Any] | str, scene: SceneLike) -> TaskSpec:
    """Check ``spec`` against the scene and return it as a ``TaskSpec``.

    Raises ``TaskSpecError`` listing every problem: structure (missing or extra keys, wrong
    types), unknown predicates and objects, wrong arity, parameters a predicate does not take
    or out of range, the same object twice, and contradictory atoms within a stage or between
    a stage and the constraints.
    """
    parsed = parse_spec(spec)
    names = object_names(scene)
    problems: list[str] = []
    ok: set[int] = set()  # ids of the well-formed atoms, the only ones checked for contradictions
    for where, atom in _located_atoms(parsed):
        own = atom_problems(atom, names)
        problems.extend(f"{where} {atom}: {p}" for p in own)
        if not own:
            ok.add(id(atom))
    constraints = [c for c in parsed.constraints if id(c) in ok]
    for i, stage in enumerate(parsed.stages, start=1):
        atoms = [a for a in stage.all if id(a) in ok]
        problems.extend(f"stage {i}: {p}" for p in contradictions(atoms, atoms))
        problems.extend(
            f"stage {i} vs constraints: {p}" for p in contradictions(atoms, constraints)
        )
    problems.extend(f"constraints: {p}" for p in contradictions(constraints, constraints))
    if problems:
        raise TaskSpecError(problems)
    return parsed


def atom_problems(atom: Atom, names: tuple[str, ...]) -> list[str]:
    """Everything wrong with one atom on its own (not counting contradictions)."""
    pred = PREDICATES.get(atom.pred)
    if pred is None:
        return [f"unknown predicate {atom.pred!r}; allowed: {', '.join(sorted(PREDICATES))}"]
    problems = []
    if len(atom.args) != pred.arity:
        problems.append(
            f"{pred.name} takes {pred.arity} object(s) ({pred.signature()}), got {len(atom.args)}"
        )
    unknown = [o for o in atom.args if o not in names]
    if unknown:
        problems.append(
            f"unknown object(s) {', '.join(repr(o) for o in unknown)}; "
            f"this scene has: {', '.join(names)}"
        )
    repeated = sorted({o for o in atom.args if atom.args.count(o) > 1})
    if repeated:
        problems.append(
            f"names {', '.join(repr(o) for o in repeated)} twice; the arguments of "
            f"{pred.name} must be different objects"
        )
    given = atom.params()
    for name, value in given.items():
        param = pred.params.get(name)
        if param is None:
            takes = ", ".join(pred.params) if pred.params else "no parameters"
            problems.append(f"{pred.name} does not take {name!r}; it takes {takes}")
        elif not param.check(value):
            problems.append(f"{name}={value!r} is out of range; {name} must be {param.allowed()}")
    for name, param in pred.params.items():
        if param.default is None and name not in given:
            problems.append(f"{pred.name} needs {name!r}: {param.allowed()}")
    return problems


def _located_atoms(spec: TaskSpec) -> list[tuple[str, Atom]]:
    out: list[tuple[str, Atom]] = []
    for i, stage in enumerate(spec.stages, start=1):
        out.extend((f"stage {i} atom {j}", a) for j, a in enumerate(stage.all, start=1))
    out.extend((f"constraint {j}", a) for j, a in enumerate(spec.constraints, start=1))
    return out


_ATOM_FIELDS = ("pred", "args", *PARAM_NAMES)


def _pydantic_problem(err: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence: where, what, and what is allowed."""
    loc = _format_loc(err.get("loc", ()))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err.get("loc", ()))
        return f"{loc}: unexpected key; allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    got = json.dumps(err.get("input"), default=str)
    return f"{loc}: {err.get('msg', 'invalid')} (got {got[:80]})"


def _format_loc(loc: Iterable[Any]) -> str:
    parts = []
    for p in loc:
        parts.append(f"[{p}]" if isinstance(p, int) else f".{p}")
    return "spec" + "".join(parts)


def _allowed_keys(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """Keys allowed in the object holding the unexpected key at ``loc``."""
    parent = [p for p in loc[:-1] if not isinstance(p, int)]
    if not parent:
        return ("stages", "constraints")
    if parent == ["stages"]:
        return ("all",)
    return _ATOM_FIELDS
