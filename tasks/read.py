"""Reading a task however it is given, and a goal: a task a person typed, kept as read.

``as_task`` is the one reader of every form (a spec, a dict, JSON, an instruction). A
``Goal`` is what an edge (the ``run`` command, the dashboard) makes of a person's text:
their words, shown as the goal's wording, and the canonical spec they were read as, which
everything downstream acts on without reading the words again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from tasks.instruction import canonical_instruction, parse_instruction
from tasks.scene import SceneLike
from tasks.spec import TaskSpec
from tasks.validate import TaskSpecError, validate


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


class Goal(BaseModel):
    """A goal as a person gave it and as it was read, once, where it was given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(
        description="What the person typed (an instruction or spec JSON), stripped; the "
        "goal's wording in prompts and in the library."
    )
    spec: TaskSpec = Field(description="What the text was read as: the canonical spec.")

    @classmethod
    def read(cls, text: str, scene: SceneLike) -> Goal:
        """``text`` read against ``scene``; an unreadable one raises ``TaskSpecError`` or
        ``InstructionError`` (both ``ValueError``) saying what was wrong."""
        text = text.strip()
        return cls(text=text, spec=as_task(text, scene).canonical())

    @field_serializer("spec")
    def _spec_json(self, spec: TaskSpec) -> dict[str, Any]:
        # As specs are stored everywhere else: parameters that are not set are left out.
        return spec.model_dump(mode="json", exclude_none=True)

    @property
    def instruction(self) -> str:
        """The spec's canonical instruction (what the policy is conditioned on)."""
        return canonical_instruction(self.spec)
