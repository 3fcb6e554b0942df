"""The predicate registry: one ``Predicate`` declaration per name, its parameters and phrases.

A declaration says what a predicate is called, what it takes and how it reads; validation,
the canonical instruction, its parser and the JSON Schema read nothing else. Adding a
predicate is one ``declare(...)`` in ``predicates.py`` and one evaluator registered under the
same name in ``controllers/predicates.py`` (a test checks that the two registries name the same
predicates).

Phrase templates use ``{a}`` and ``{b}`` for the object arguments and ``{<param>}`` for a
parameter's phrase (rendered only when the value differs from the default). They must not
contain ``,`` or `` and `` (those join atoms and stages in an instruction; a test checks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

ParamValue: TypeAlias = float | str
"""A resolved parameter: a length in metres or a choice (a region's name)."""

PARAM_NAMES = ("height", "margin", "distance", "region")
"""Every parameter a predicate may take; each is an optional field of ``Atom``."""

LENGTH_DECIMALS = 4
"""Lengths are compared and hashed rounded to 0.1 mm (and rendered in cm, 2 decimals)."""


def format_cm(metres: float) -> str:
    """A length in cm with at most two decimals and no trailing zeros: 0.15 -> ``"15"``."""
    return f"{round(metres * 100, 2):.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class LengthParam:
    """A length in metres, in ``(low, high]`` (or ``[low, high]`` when ``low_inclusive``)."""

    default: float
    low: float
    high: float
    phrase: str
    """How a non-default value reads in an instruction, ``{}`` standing for the value in cm."""
    low_inclusive: bool = False
    description: str = ""

    def allowed(self) -> str:
        """The allowed range, written for a person."""
        bracket = "[" if self.low_inclusive else "("
        return f"a length in m in {bracket}{self.low}, {self.high}] (default {self.default})"

    def check(self, value: ParamValue) -> bool:
        if not isinstance(value, float | int) or isinstance(value, bool):
            return False
        above_low = value >= self.low if self.low_inclusive else value > self.low
        return bool(above_low and value <= self.high)

    def canonical(self, value: ParamValue) -> ParamValue | None:
        """The value rounded to ``LENGTH_DECIMALS``; ``None`` when it equals the default."""
        if not isinstance(value, float | int):
            return value
        v = round(float(value), LENGTH_DECIMALS)
        return None if v == round(self.default, LENGTH_DECIMALS) else v

    def render(self, value: ParamValue) -> str:
        assert isinstance(value, float | int)
        return self.phrase.format(format_cm(float(value)))

    def pattern(self, name: str) -> str:
        """Regex for the phrase, the value (in cm) captured as group ``name``."""
        before, after = self.phrase.split("{}")
        number = rf"(?P<{name}>\d+(?:\.\d+)?)"
        return re.escape(before) + number + re.escape(after)

    def parse(self, text: str) -> ParamValue:
        return round(float(text) / 100, LENGTH_DECIMALS)


@dataclass(frozen=True)
class ChoiceParam:
    """One of a fixed set of names; required (there is no default)."""

    words: Mapping[str, str]
    """Each allowed value and how it reads in an instruction."""
    description: str = ""
    default: None = None

    def allowed(self) -> str:
        return f"one of {sorted(self.words)} (required)"

    def check(self, value: ParamValue) -> bool:
        return isinstance(value, str) and value in self.words

    def canonical(self, value: ParamValue) -> ParamValue | None:
        return value

    def render(self, value: ParamValue) -> str:
        assert isinstance(value, str)
        return self.words[value]

    def pattern(self, name: str) -> str:
        # Longest first, so that no phrase matches only a prefix of another.
        options = sorted(self.words.values(), key=lambda w: (-len(w), w))
        return f"(?P<{name}>" + "|".join(re.escape(w) for w in options) + ")"

    def parse(self, text: str) -> ParamValue:
        return next(v for v, w in self.words.items() if w == text)


Param: TypeAlias = LengthParam | ChoiceParam


@dataclass(frozen=True)
class Predicate:
    """A declared predicate. See ``predicates.py`` for the declarations."""

    name: str
    arity: int
    phrase: str
    """Imperative phrase for a stage: ``"put the {a} block on the {b} block"``."""
    keeping: str
    """Phrase for a constraint: ``"keeping the {a} block on the table"``."""
    summary: str
    """One line: what holds when the predicate holds (thresholds included)."""
    params: Mapping[str, Param] = field(default_factory=dict)

    def signature(self) -> str:
        """``"lifted(o; height=0.1)"``: the arguments and parameters with defaults."""
        args = "a, b" if self.arity == 2 else "o"
        ps = [f"{k}={p.default}" if p.default is not None else k for k, p in self.params.items()]
        return f"{self.name}({args}{'; ' + ', '.join(ps) if ps else ''})"

    def resolve(self, given: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
        """The parameters with defaults filled in (the atom is assumed validated)."""
        out: dict[str, ParamValue] = {}
        for name, p in self.params.items():
            value = given.get(name, p.default)
            if value is not None:
                out[name] = value
        return out


PREDICATES: dict[str, Predicate] = {}
"""Every declared predicate by name, in declaration order; filled by ``predicates.py``."""


def declare(
    name: str,
    *,
    arity: int,
    phrase: str,
    keeping: str,
    summary: str,
    params: Mapping[str, Param] | None = None,
) -> None:
    """Declare predicate ``name`` (see ``Predicate``)."""
    if name in PREDICATES:
        raise ValueError(f"predicate {name!r} is declared twice")
    unknown = set(params or {}) - set(PARAM_NAMES)
    if unknown:
        raise ValueError(f"{name}: params {sorted(unknown)} are not among {PARAM_NAMES}")
    PREDICATES[name] = Predicate(
        name=name,
        arity=arity,
        phrase=phrase,
        keeping=keeping,
        summary=summary,
        params=dict(params or {}),
    )
