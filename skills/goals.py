"""Reading a task a person typed (a goal for the experimenter): an instruction or spec JSON.

The dashboard reads a goal here, once, and queues it as a ``goal`` command carrying what it
was read as (``goal_payload``); the daemon takes that back (``goal_from_payload``) rather
than reading the words again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from skills.errors import SkillError
from skills.library import default_scene
from tasks import Goal
from tasks.scene import SceneLike

MAX_TEXT = 4000
"""Longest goal text accepted (a spec of a few stages fits with room to spare)."""


def read_goal(text: str, *, scene: SceneLike | None = None) -> Goal:
    """``text`` (an instruction such as "put the red block on the blue block", or a spec as
    JSON) read as a goal. Raises ``SkillError`` saying what is wrong (with examples of
    accepted phrasings)."""
    text = text.strip()
    if not text:
        raise SkillError("the goal is empty: type an instruction or a task spec as JSON")
    if len(text) > MAX_TEXT:
        raise SkillError(f"the goal is {len(text)} characters long; at most {MAX_TEXT} allowed")
    try:
        return Goal.read(text, scene if scene is not None else default_scene())
    except ValueError as e:  # TaskSpecError and InstructionError
        raise SkillError(f"not a task the arena knows: {e}") from None


def parse_goal(text: str, *, scene: SceneLike | None = None) -> tuple[dict[str, Any], str]:
    """The canonical spec (as JSON data) and canonical instruction of ``text`` (``read_goal``)."""
    goal = read_goal(text, scene=scene)
    return goal.spec.model_dump(mode="json", exclude_none=True), goal.instruction


def goal_payload(goal: Goal) -> dict[str, Any]:
    """The payload of a ``goal`` command: the person's words and the canonical instruction
    (both shown by the dashboard), and the canonical spec the daemon acts on."""
    return {
        "goal": goal.text,
        "spec": goal.spec.model_dump(mode="json", exclude_none=True),
        "instruction": goal.instruction,
    }


def goal_from_payload(payload: Mapping[str, Any]) -> Goal:
    """The goal a ``goal`` command carries, as it was read when it was queued (not read
    again). Raises ``SkillError`` when the payload is not one ``goal_payload`` made."""
    try:
        return Goal(text=payload["goal"], spec=payload["spec"])
    except (KeyError, ValidationError) as e:
        raise SkillError(
            f"a goal command carries the goal as read when it was queued (keys goal and "
            f"spec, as the dashboard queues it); this one does not: {e}"
        ) from None
