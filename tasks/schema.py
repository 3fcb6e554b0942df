"""JSON Schema of a task spec for a VLM's structured output (a Gemini response schema).

Gemini accepts an OpenAPI-style subset of JSON Schema, so the schema is fully inlined (no
``$ref``/``$defs``), not recursive, has no ``additionalProperties`` and no type unions;
optional parameters are simply not ``required``. It is also plain JSON Schema (draft
2020-12 compatible), so ``jsonschema`` can check a model's answer before ``validate`` does
the semantic checks (arity, ranges, contradictions), which a schema cannot express.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasks.predicates import PREDICATES
from tasks.registry import ChoiceParam, LengthParam


def predicate_catalogue() -> str:
    """One line per predicate: signature and meaning, e.g. ``lifted(o; height=0.1): ...``."""
    return "\n".join(f"{p.signature()}: {p.summary}" for p in PREDICATES.values())


def _param_schemas() -> dict[str, dict[str, Any]]:
    """Each parameter name with its type, bounds and which predicates take it."""
    takers: dict[str, list[str]] = {}
    specs: dict[str, LengthParam | ChoiceParam] = {}
    for pred in PREDICATES.values():
        for name, param in pred.params.items():
            takers.setdefault(name, []).append(pred.name)
            specs.setdefault(name, param)
    out: dict[str, dict[str, Any]] = {}
    for name, param in specs.items():
        lines = "; ".join(
            f"{p}: {PREDICATES[p].params[name].allowed()}" for p in sorted(takers[name])
        )
        description = f"Only for {', '.join(sorted(takers[name]))}. {lines}. Omit otherwise."
        if isinstance(param, ChoiceParam):
            out[name] = {"type": "string", "enum": sorted(param.words), "description": description}
        else:
            lengths = [PREDICATES[p].params[name] for p in takers[name]]
            out[name] = {
                "type": "number",
                "minimum": min(p.low for p in lengths if isinstance(p, LengthParam)),
                "maximum": max(p.high for p in lengths if isinstance(p, LengthParam)),
                "description": description + " In metres.",
            }
    return out


def _atom_schema(objects: list[str], purpose: str) -> dict[str, Any]:
    arities = sorted({p.arity for p in PREDICATES.values()})
    params = _param_schemas()
    return {
        "type": "object",
        "description": purpose,
        "properties": {
            "pred": {
                "type": "string",
                "enum": sorted(PREDICATES),
                "description": "Predicate (signature: meaning):\n" + predicate_catalogue(),
            },
            "args": {
                "type": "array",
                "items": {"type": "string", "enum": objects, "description": "An object name."},
                "minItems": arities[0],
                "maxItems": arities[-1],
                "description": "The objects, as many as the predicate takes, distinct.",
            },
            **params,
        },
        "required": ["pred", "args"],
        "propertyOrdering": ["pred", "args", *params],
    }


def task_json_schema(object_names: Iterable[str]) -> dict[str, Any]:
    """The spec's JSON Schema for a scene with these objects (a fresh dict each call)."""
    objects = list(object_names)
    stage = {
        "type": "object",
        "description": "A stage: a conjunction; it holds when all its atoms hold.",
        "properties": {
            "all": {
                "type": "array",
                "items": _atom_schema(objects, "An atom: a predicate applied to objects."),
                "minItems": 1,
                "description": "Atoms that must hold together.",
            }
        },
        "required": ["all"],
    }
    return {
        "type": "object",
        "description": (
            "A task: stages achieved in order (success when the last holds) and constraints "
            "that must hold throughout. World frame: right = +x, behind = +y, up = +z."
        ),
        "properties": {
            "stages": {
                "type": "array",
                "items": stage,
                "minItems": 1,
                "description": "Stages in order.",
            },
            "constraints": {
                "type": "array",
                "items": _atom_schema(objects, "A constraint that must hold throughout."),
                "description": "Atoms that must hold during the whole task; often empty.",
            },
        },
        "required": ["stages"],
        "propertyOrdering": ["stages", "constraints"],
    }
