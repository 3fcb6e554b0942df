"""The canonical English instruction of a spec, and its parser.

Rendering (``canonical_instruction``) reads the canonical spec, so equal specs (same hash)
give the same text:

- an atom reads as its predicate's ``phrase`` (``"put the red block on the blue block"``),
  a parameter appearing only when it differs from the default (``"lift the red block by
  15 cm"``);
- within a stage, ``on(a, b)`` together with ``released(a)`` reads as the macro
  ``"stack the a block on the b block"``; atoms are joined with ``" and "`` in canonical
  order;
- stages are joined with ``", then "``; constraints follow as ``", keeping ..."`` (their
  ``keeping`` phrases joined with ``" and "``).

Parsing (``parse_instruction``) inverts this with regexes built from the same declared
templates, plus a few aliases (``MACROS``): "stack"/"put ... on top of" for on + released,
"pick up" for lifted, "grab" for grasped. Case, surrounding whitespace and a final period
are ignored.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.predicates import PREDICATES
from tasks.registry import ChoiceParam, Param, ParamValue
from tasks.scene import SceneLike, object_names
from tasks.spec import Atom, TaskSpec
from tasks.validate import validate

ATOM_JOIN = " and "
STAGE_JOIN = ", then "
CONSTRAINT_JOIN = ", "


@dataclass(frozen=True)
class Macro:
    """A phrase that stands for several atoms with default parameters."""

    phrase: str
    atoms: tuple[tuple[str, tuple[str, ...]], ...]
    """``(predicate, argument placeholders)``, e.g. ``("on", ("a", "b"))``."""
    canonical: bool = False
    """Whether rendering uses it (at most one macro per atom set); else it is parse-only."""


_STACK = (("on", ("a", "b")), ("released", ("a",)))
MACROS: tuple[Macro, ...] = (
    Macro("stack the {a} block on the {b} block", _STACK, canonical=True),
    Macro("put the {a} block on top of the {b} block", _STACK),
    Macro("place the {a} block on top of the {b} block", _STACK),
    Macro("pick up the {a} block", (("lifted", ("a",)),)),
    Macro("grab the {a} block", (("grasped", ("a",)),)),
)


class InstructionError(ValueError):
    """Text that is not an instruction of the task language."""


# --- rendering -----------------------------------------------------------------------------


def canonical_instruction(spec: TaskSpec) -> str:
    """Deterministic English for a valid ``spec``; specs with the same hash read the same."""
    unknown = sorted({a.pred for a in spec.atoms()} - set(PREDICATES))
    if unknown:
        raise ValueError(f"unknown predicate(s) {unknown}; validate the spec first")
    canon = spec.canonical()
    text = STAGE_JOIN.join(_render_stage(s.all) for s in canon.stages)
    if canon.constraints:
        keeping = ATOM_JOIN.join(_render_atom(c, keeping=True) for c in canon.constraints)
        text += CONSTRAINT_JOIN + keeping
    return text


def _render_atom(atom: Atom, *, keeping: bool = False) -> str:
    pred = PREDICATES[atom.pred]
    template = pred.keeping if keeping else pred.phrase
    fields: dict[str, str] = dict(zip("ab", atom.args, strict=False))
    given = atom.params()
    for name, param in pred.params.items():
        value = given.get(name)
        fields[name] = "" if value is None else param.render(value)
    return template.format(**fields)


def _render_stage(atoms: Sequence[Atom]) -> str:
    """Atoms in canonical order, the canonical macros taking the atoms they cover."""
    used: set[int] = set()
    parts = []
    for i, atom in enumerate(atoms):
        if i in used:
            continue
        for macro in MACROS:
            covered = _macro_cover(macro, atoms, i, used) if macro.canonical else None
            if covered is not None:
                indices, binding = covered
                used.update(indices)
                parts.append(macro.phrase.format(**binding))
                break
        else:
            used.add(i)
            parts.append(_render_atom(atom))
    return ATOM_JOIN.join(parts)


def _macro_cover(
    macro: Macro, atoms: Sequence[Atom], i: int, used: set[int]
) -> tuple[list[int], dict[str, str]] | None:
    """Indices of the atoms ``macro`` stands for, its first atom being ``atoms[i]``."""
    first_pred, first_vars = macro.atoms[0]
    if atoms[i].pred != first_pred or atoms[i].params():
        return None
    binding = dict(zip(first_vars, atoms[i].args, strict=True))
    indices = [i]
    for pred, variables in macro.atoms[1:]:
        wanted = [binding[v] for v in variables]
        match = next(
            (
                j
                for j, a in enumerate(atoms)
                if j not in used
                and j not in indices
                and a.pred == pred
                and a.args == wanted
                and not a.params()
            ),
            None,
        )
        if match is None:
            return None
        indices.append(match)
    return indices, binding


# --- parsing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Matcher:
    """A compiled phrase: its regex and how a match becomes atoms."""

    regex: re.Pattern[str]
    atoms: tuple[tuple[str, tuple[str, ...]], ...]
    params: Mapping[str, Param]

    def build(self, m: re.Match[str], names: Mapping[str, str]) -> list[dict[str, Any]]:
        groups = m.groupdict()
        out = []
        for pred, variables in self.atoms:
            atom: dict[str, Any] = {"pred": pred, "args": [names[groups[v]] for v in variables]}
            for name, param in self.params.items():
                if groups.get(name) is not None:
                    atom[name] = param.parse(groups[name])
            out.append(atom)
        return out


def _regex(template: str, names: Iterable[str], params: Mapping[str, Param]) -> re.Pattern[str]:
    """Regex for a phrase template: objects as alternations, parameters as their patterns."""
    objects = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    out = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if field is None:
            continue
        if field in ("a", "b"):
            out.append(f"(?P<{field}>{objects})")
        elif isinstance(params[field], ChoiceParam):
            out.append(params[field].pattern(field))  # required: always rendered
        else:
            out.append(f"(?:{params[field].pattern(field)})?")  # omitted when default
    return re.compile("".join(out))


def _matchers(names: Sequence[str], *, keeping: bool) -> list[_Matcher]:
    out = []
    for pred in PREDICATES.values():
        variables = ("a", "b")[: pred.arity]
        template = pred.keeping if keeping else pred.phrase
        regex = _regex(template, names, pred.params)
        out.append(_Matcher(regex, ((pred.name, variables),), pred.params))
    if not keeping:
        out.extend(_Matcher(_regex(m.phrase, names, {}), m.atoms, {}) for m in MACROS)
    return out


def _normalise(text: str) -> str:
    text = " ".join(text.lower().split())
    text = re.sub(r"\s*,\s*", ", ", text)
    return text.rstrip(". ")


def parse_instruction(text: str, scene: SceneLike) -> TaskSpec:
    """The spec an instruction describes, in canonical form; inverse of ``canonical_instruction``.

    Raises ``InstructionError`` (a ``ValueError``) with examples of accepted phrasings when a
    phrase is not understood, and ``TaskSpecError`` when the spec it describes is invalid.
    """
    names = object_names(scene)
    lower = {n.lower(): n for n in names}
    stage_matchers = _matchers(list(lower), keeping=False)
    keep_matchers = _matchers(list(lower), keeping=True)
    norm = _normalise(text)
    if not norm:
        raise InstructionError(_help("the instruction is empty", names))

    stages: list[list[dict[str, Any]]] = []
    constraints: list[dict[str, Any]] = []
    for k, piece in enumerate(norm.split(", ")):
        piece = re.sub(r"^(and )?then ", "", piece) if k else piece
        if k and (constraints or re.match(r"^(while )?keeping ", piece)):
            piece = re.sub(r"^while ", "", piece)
            for phrase in piece.split(ATOM_JOIN):
                constraints.extend(_parse_atom(phrase, keep_matchers, lower, text))
        else:
            stage = []
            for phrase in piece.split(ATOM_JOIN):
                stage.extend(_parse_atom(phrase, stage_matchers, lower, text))
            stages.append(stage)
    spec = validate({"stages": [{"all": s} for s in stages], "constraints": constraints}, names)
    return spec.canonical()


def _parse_atom(
    phrase: str, matchers: Sequence[_Matcher], names: Mapping[str, str], text: str
) -> list[dict[str, Any]]:
    found = [(m, hit) for m in matchers if (hit := m.regex.fullmatch(phrase))]
    if len(found) != 1:
        why = "not understood" if not found else "ambiguous"
        where = f"{phrase!r}" if phrase == _normalise(text) else f"{phrase!r} in {text!r}"
        raise InstructionError(_help(f"{where} is {why}", tuple(names.values())))
    matcher, hit = found[0]
    return matcher.build(hit, names)


def _help(problem: str, names: Sequence[str]) -> str:
    """The problem, then every accepted phrasing with this scene's objects."""
    a, b = (list(names) * 2)[:2]
    examples = []
    for pred in PREDICATES.values():
        fields: dict[str, str] = {"a": a, "b": b}
        for name, param in pred.params.items():
            value: ParamValue | None = (
                sorted(param.words)[0] if isinstance(param, ChoiceParam) else None
            )
            fields[name] = "" if value is None else param.render(value)
        examples.append(pred.phrase.format(**fields))
    examples += [m.phrase.format(a=a, b=b) for m in MACROS]
    return (
        f"{problem}. Accepted phrases (objects: {', '.join(names)}): "
        + "; ".join(repr(e) for e in examples)
        + f". Join phrases with {ATOM_JOIN!r}, stages with {STAGE_JOIN!r}, and end with "
        f"constraints such as {', keeping the ' + a + ' block on the table'!r}; lengths read "
        "like 'lift the red block by 15 cm'."
    )
