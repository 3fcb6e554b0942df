"""Canonical form and hash: the same task always gets the same id."""

from __future__ import annotations

import json
import subprocess
import sys

from tasks import Atom, Stage, TaskSpec, as_task, validate

STACK = {
    "stages": [
        {"all": [{"pred": "grasped", "args": ["red"]}]},
        {"all": [{"pred": "above", "args": ["red", "blue"], "margin": 0.02}]},
        {"all": [{"pred": "on", "args": ["red", "blue"]}, {"pred": "released", "args": ["red"]}]},
    ],
    "constraints": [
        {"pred": "on_table", "args": ["green"]},
        {"pred": "near", "args": ["green", "blue"], "distance": 0.25},
    ],
}


def spec(data: object) -> TaskSpec:
    return validate(data, ["red", "green", "blue"])  # type: ignore[arg-type]


def test_hash_is_a_short_stable_hex_string() -> None:
    h = spec(STACK).spec_hash()
    assert len(h) == 16 and int(h, 16) >= 0
    assert spec(STACK).spec_hash() == h
    # Computed in a fresh interpreter: no dependence on process state (e.g. hash seeds).
    code = (
        "import json, sys; from tasks import TaskSpec; "
        "print(TaskSpec.model_validate(json.loads(sys.argv[1])).spec_hash())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(STACK)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == h


def test_hash_ignores_key_order_atom_order_and_stated_defaults() -> None:
    reordered = json.loads(json.dumps(STACK, sort_keys=True))  # other key order
    reordered["stages"][2]["all"].reverse()  # other atom order
    reordered["constraints"].reverse()  # other constraint order
    del reordered["stages"][1]["all"][0]["margin"]  # default omitted
    reordered["stages"][0]["all"].append({"pred": "grasped", "args": ["red"]})  # repeated
    assert spec(reordered).spec_hash() == spec(STACK).spec_hash()
    assert spec(reordered).canonical() == spec(STACK).canonical()
    assert spec(reordered).canonical_json() == spec(STACK).canonical_json()


def test_hash_changes_with_meaning() -> None:
    base = spec(STACK).spec_hash()
    swapped = json.loads(json.dumps(STACK))
    swapped["stages"][:2] = swapped["stages"][1::-1]  # stage order matters
    other_margin = json.loads(json.dumps(STACK))
    other_margin["stages"][1]["all"][0]["margin"] = 0.03
    other_args = json.loads(json.dumps(STACK))
    other_args["stages"][2]["all"][0]["args"] = ["blue", "red"]
    other_args["stages"][2]["all"][1]["args"] = ["blue"]
    other_args["stages"][0]["all"][0]["args"] = ["blue"]
    hashes = {spec(s).spec_hash() for s in (swapped, other_margin, other_args)}
    assert base not in hashes and len(hashes) == 3


def test_canonical_json_is_sorted_compact_and_drops_defaults() -> None:
    canon = json.loads(spec(STACK).canonical_json())
    assert canon["stages"][1] == {"all": [{"args": ["red", "blue"], "pred": "above"}]}
    assert canon["constraints"][0] == {"args": ["green", "blue"], "distance": 0.25, "pred": "near"}
    assert " " not in spec(STACK).canonical_json()


def test_lengths_are_compared_to_a_tenth_of_a_millimetre() -> None:
    a = {"stages": [{"all": [{"pred": "lifted", "args": ["red"], "height": 0.15}]}]}
    b = {"stages": [{"all": [{"pred": "lifted", "args": ["red"], "height": 0.1500001}]}]}
    c = {"stages": [{"all": [{"pred": "lifted", "args": ["red"], "height": 0.1501}]}]}
    assert spec(a).spec_hash() == spec(b).spec_hash() != spec(c).spec_hash()


def test_pydantic_json_round_trip() -> None:
    s = spec(STACK)
    assert TaskSpec.model_validate_json(s.model_dump_json()) == s
    schema = TaskSpec.model_json_schema()
    assert set(schema["properties"]) == {"stages", "constraints"}


def test_models_build_directly() -> None:
    s = TaskSpec(stages=[Stage(all=[Atom(pred="lifted", args=["red"], height=0.1)])])
    assert s.canonical().stages[0].all[0].height is None  # the default, dropped
    assert str(s) == "lifted(red; height=0.1)"


def test_as_task_accepts_every_form(layout) -> None:
    from_dict = as_task(STACK, layout)
    assert as_task(json.dumps(STACK), layout) == from_dict
    assert as_task(from_dict, layout) == from_dict
    text = "grasp the red block, then lift the red block"
    assert as_task(text, layout).stages[1].all[0].pred == "lifted"


def test_task_language_imports_neither_mujoco_nor_torch() -> None:
    code = (
        "import sys, tasks; "
        "bad = [m for m in ('mujoco', 'torch') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
