"""The task language: flat specs of staged predicates, their validation and their English.

The ground every package stands on: pydantic and the standard library only (neither numpy,
gymnasium, MuJoCo nor torch), so that the skill library and the dashboard can validate, hash
and phrase tasks without loading the arena. A scene is anything that names its objects
(``tasks.scene``); how a spec is evaluated on observations (reward and success) is the
arena's part, ``controllers.compile``.

    spec = as_task("grasp the red block, then stack the red block on the blue block", scene)
    spec.spec_hash(), canonical_instruction(spec)
"""

from __future__ import annotations

from tasks.instruction import InstructionError, canonical_instruction, parse_instruction
from tasks.predicates import PREDICATES
from tasks.read import Goal, as_task
from tasks.registry import Predicate
from tasks.schema import predicate_catalogue, task_json_schema
from tasks.spec import Atom, Stage, TaskSpec
from tasks.validate import TaskSpecError, validate

__all__ = [
    "PREDICATES",
    "Atom",
    "Goal",
    "InstructionError",
    "Predicate",
    "Stage",
    "TaskSpec",
    "TaskSpecError",
    "as_task",
    "canonical_instruction",
    "parse_instruction",
    "predicate_catalogue",
    "task_json_schema",
    "validate",
]
