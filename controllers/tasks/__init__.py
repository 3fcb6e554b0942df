"""The task language: flat specs of staged predicates, compiled to reward and success.

Pure (numpy, pydantic and the standard library): neither MuJoCo nor torch is imported, so
skills can be validated, hashed and relabelled without a physics engine.

    spec = as_task("grasp the red block, then stack the red block on the blue block", layout)
    task = compile_task(spec, layout)
    task.reward(obs), task.success(obs)       # obs: (N, layout.dim) -> (N,)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controllers.tasks.compile import CompiledTask, compile_task
from controllers.tasks.instruction import InstructionError, canonical_instruction, parse_instruction
from controllers.tasks.predicates import PREDICATES
from controllers.tasks.registry import Predicate
from controllers.tasks.schema import predicate_catalogue, task_json_schema
from controllers.tasks.spec import Atom, Stage, TaskSpec
from controllers.tasks.validate import SceneLike, TaskSpecError, validate

__all__ = [
    "PREDICATES",
    "Atom",
    "CompiledTask",
    "InstructionError",
    "Predicate",
    "Stage",
    "TaskSpec",
    "TaskSpecError",
    "as_task",
    "canonical_instruction",
    "compile_task",
    "parse_instruction",
    "predicate_catalogue",
    "task_json_schema",
    "validate",
]


def as_task(task: TaskSpec | Mapping[str, Any] | str, scene: SceneLike) -> TaskSpec:
    """A validated ``TaskSpec`` from a spec, a dict, a JSON string or an instruction.

    A string starting with ``{`` is read as JSON; any other string as an instruction.
    """
    if isinstance(task, str) and not task.lstrip().startswith("{"):
        return parse_instruction(task, scene)
    if isinstance(task, str):
        try:
            json.loads(task)
        except json.JSONDecodeError as e:
            raise TaskSpecError([f"the task looks like JSON but is not: {e}"]) from None
    return validate(task, scene)
