"""The task spec: flat pydantic models, their canonical form and stable hash.

A task is an ordered list of stages, each a conjunction of atoms, plus constraints that must
hold throughout. The models check structure only; ``validate`` checks names, arities,
parameter ranges and contradictions against a scene.

Canonical form (``TaskSpec.canonical``), which the hash and the canonical instruction read:

- lengths rounded to ``LENGTH_DECIMALS`` (0.1 mm); a parameter equal to its predicate's
  default is dropped, so stating a default and omitting it give the same spec;
- atoms inside a stage, and the constraints, sorted by ``(pred, args, params)`` with exact
  duplicates removed (a conjunction ignores order and repetition); stage order is kept.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasks.predicates import PREDICATES
from tasks.registry import PARAM_NAMES, ParamValue

HASH_HEX_CHARS = 16
"""``spec_hash`` is the first 16 hex characters (64 bits) of the canonical JSON's sha256."""


class Atom(BaseModel):
    """One predicate applied to objects: ``{"pred": "on", "args": ["red", "blue"]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pred: str = Field(description="Predicate name, e.g. 'on'.")
    args: list[str] = Field(description="Object names, as many as the predicate's arity.")
    height: float | None = Field(
        default=None, description="lifted: height of the object's bottom above the table (m)."
    )
    margin: float | None = Field(
        default=None, description="above / left_of / right_of / in_front_of / behind (m)."
    )
    distance: float | None = Field(default=None, description="near: largest distance (m).")
    region: str | None = Field(
        default=None, description="in_region: left, right, front, back or center."
    )

    def params(self) -> dict[str, ParamValue]:
        """The parameters that are set (not ``None``), by name."""
        values = {name: getattr(self, name) for name in PARAM_NAMES}
        return {k: v for k, v in values.items() if v is not None}

    def canonical(self) -> Atom:
        """This atom with lengths rounded and default-valued parameters dropped."""
        pred = PREDICATES.get(self.pred)
        if pred is None:  # not validated: keep what was given
            return self
        params: dict[str, ParamValue | None] = {}
        for name, value in self.params().items():
            spec = pred.params.get(name)
            params[name] = spec.canonical(value) if spec is not None else value
        return Atom.model_validate({"pred": self.pred, "args": list(self.args), **params})

    def sort_key(self) -> tuple[str, tuple[str, ...], str]:
        return (self.pred, tuple(self.args), json.dumps(self.params(), sort_keys=True))

    def __str__(self) -> str:
        params = "".join(f"; {k}={v}" for k, v in self.params().items())
        return f"{self.pred}({', '.join(self.args)}{params})"


class Stage(BaseModel):
    """A conjunction of atoms; the stage holds when all of them hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[Atom] = Field(min_length=1, description="Atoms that must all hold together.")

    def __str__(self) -> str:
        return " & ".join(str(a) for a in self.all)


class TaskSpec(BaseModel):
    """Ordered stages, then success = the last stage holds and every constraint holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[Stage] = Field(
        min_length=1, description="Stages in order; the task succeeds when the last holds."
    )
    constraints: list[Atom] = Field(
        default_factory=list, description="Atoms that must hold throughout the task."
    )

    def canonical(self) -> TaskSpec:
        """The canonical form (see the module docstring); equal specs have equal forms."""
        return TaskSpec(
            stages=[Stage(all=_canonical_atoms(s.all)) for s in self.stages],
            constraints=_canonical_atoms(self.constraints),
        )

    def canonical_json(self) -> str:
        """Canonical form as compact JSON with sorted keys and no ``null`` parameters."""
        data: dict[str, Any] = self.canonical().model_dump(exclude_none=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def spec_hash(self) -> str:
        """Stable id: the first ``HASH_HEX_CHARS`` hex chars of sha256(canonical JSON)."""
        digest = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
        return digest[:HASH_HEX_CHARS]

    def atoms(self) -> list[Atom]:
        """Every atom, stages first, then constraints."""
        return [a for s in self.stages for a in s.all] + list(self.constraints)

    def __str__(self) -> str:
        text = " ; then ".join(str(s) for s in self.stages)
        if self.constraints:
            text += " ; keeping " + " & ".join(str(c) for c in self.constraints)
        return text


def _canonical_atoms(atoms: list[Atom]) -> list[Atom]:
    unique = {a.canonical().sort_key(): a.canonical() for a in atoms}
    return [unique[k] for k in sorted(unique)]
