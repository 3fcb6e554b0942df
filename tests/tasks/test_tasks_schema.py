"""The JSON Schema handed to the VLM: accepted by Gemini's SDK, flat, and faithful."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.genai import types

from tasks import PREDICATES, validate
from tasks.geometry import REGIONS
from tasks.schema import task_json_schema

OBJECTS = ["red", "green", "blue", "yellow"]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a nested structure."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def atom_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["stages"]["items"]["properties"]["all"]["items"]


def test_gemini_sdk_accepts_the_schema() -> None:
    schema = task_json_schema(OBJECTS)
    parsed = types.Schema.model_validate(copy.deepcopy(schema))
    assert parsed.type == types.Type.OBJECT
    stage = parsed.properties["stages"].items  # type: ignore[index,union-attr]
    atom = stage.properties["all"].items  # type: ignore[index,union-attr]
    assert atom.properties["pred"].enum == sorted(PREDICATES)  # type: ignore[index,union-attr]
    # Also through the SDK's own request-time conversion, where it is available.
    transformers = pytest.importorskip("google.genai._transformers")
    assert transformers.t_schema(None, copy.deepcopy(schema)) is not None
    types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema)


def test_schema_is_flat_and_fully_inlined() -> None:
    schema = task_json_schema(OBJECTS)
    text = json.dumps(schema)
    for banned in ("$ref", "$defs", "definitions", "additionalProperties", "anyOf", "oneOf"):
        assert banned not in text
    for node in walk(schema):
        if node.get("type") == "object":
            assert node["required"] and set(node["required"]) <= set(node["properties"])
            assert node["description"]
        if "type" in node:
            assert isinstance(node["type"], str)  # no type unions such as ["number", "null"]


def test_enums_list_predicates_objects_and_regions() -> None:
    atom = atom_schema(task_json_schema(OBJECTS))
    assert atom["properties"]["pred"]["enum"] == sorted(PREDICATES)
    assert atom["properties"]["args"]["items"]["enum"] == OBJECTS
    assert atom["properties"]["region"]["enum"] == list(REGIONS)
    assert atom["required"] == ["pred", "args"]
    catalogue = atom["properties"]["pred"]["description"]
    assert "lifted(o; height=0.1)" in catalogue and "on(a, b)" in catalogue
    assert "lifted" in atom["properties"]["height"]["description"]


def test_schema_follows_the_scene() -> None:
    atom = atom_schema(task_json_schema(["red", "blue"]))
    assert atom["properties"]["args"]["items"]["enum"] == ["red", "blue"]


def test_jsonschema_accepts_canonical_specs_and_rejects_bad_ones() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = task_json_schema(OBJECTS)
    good = validate(
        {
            "stages": [
                {"all": [{"pred": "lifted", "args": ["yellow"], "height": 0.2}]},
                {"all": [{"pred": "in_region", "args": ["yellow"], "region": "center"}]},
            ],
            "constraints": [{"pred": "on_table", "args": ["red"]}],
        },
        OBJECTS,
    )
    jsonschema.validate(json.loads(good.canonical_json()), schema)
    bad = [
        {},
        {"stages": []},
        {"stages": [{"all": [{"pred": "fly", "args": ["red"]}]}]},
        {"stages": [{"all": [{"pred": "reach", "args": ["purple"]}]}]},
        {"stages": [{"all": [{"pred": "reach"}]}]},
        {"stages": [{"all": [{"pred": "in_region", "args": ["red"], "region": "top"}]}]},
    ]
    for spec in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(spec, schema)
