"""Reading a task a person typed (a goal for the experimenter): an instruction or spec JSON."""

from __future__ import annotations

from typing import Any

from skills.errors import SkillError
from skills.library import default_scene
from tasks import TaskSpecError, as_task, canonical_instruction
from tasks.scene import SceneLike

MAX_TEXT = 4000
"""Longest goal text accepted (a spec of a few stages fits with room to spare)."""


def parse_goal(text: str, *, scene: SceneLike | None = None) -> tuple[dict[str, Any], str]:
    """The canonical spec (as JSON data) and canonical instruction of ``text``.

    ``text`` is an instruction ("put the red block on the blue block") or a spec as JSON.
    Raises ``SkillError`` saying what is wrong (with examples of accepted phrasings).
    """
    text = text.strip()
    if not text:
        raise SkillError("the goal is empty: type an instruction or a task spec as JSON")
    if len(text) > MAX_TEXT:
        raise SkillError(f"the goal is {len(text)} characters long; at most {MAX_TEXT} allowed")
    try:
        spec = as_task(text, scene if scene is not None else default_scene()).canonical()
    except (TaskSpecError, ValueError) as e:  # InstructionError is a ValueError
        raise SkillError(f"not a task the arena knows: {e}") from None
    return spec.model_dump(mode="json", exclude_none=True), canonical_instruction(spec)
