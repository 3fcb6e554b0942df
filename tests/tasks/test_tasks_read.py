"""A goal keeps a person's words with the canonical spec they were read as, once."""

from __future__ import annotations

import pytest

from tasks import Goal, InstructionError, TaskSpecError, as_task

OBJECTS = ["red", "green", "blue"]


def test_a_goal_is_read_once_into_its_words_and_canonical_spec() -> None:
    goal = Goal.read("  lift the red block by 10 cm and grasp the red block ", OBJECTS)
    assert goal.text == "lift the red block by 10 cm and grasp the red block"
    # Canonical: the default height dropped, the atoms sorted.
    assert goal.spec == as_task(goal.text, OBJECTS).canonical()
    assert [a.pred for a in goal.spec.stages[0].all] == ["grasped", "lifted"]
    assert goal.spec.stages[0].all[1].height is None
    assert goal.instruction == "grasp the red block and lift the red block"


def test_a_goal_is_stored_as_read_and_comes_back_unchanged() -> None:
    goal = Goal.read('{"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}', OBJECTS)
    data = goal.model_dump(mode="json")
    # Stored like every other spec: unset parameters left out.
    assert data["spec"] == {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}],
                            "constraints": []}  # fmt: skip
    assert Goal.model_validate(data) == goal
    assert Goal.model_validate_json(goal.model_dump_json()) == goal


@pytest.mark.parametrize(
    ("text", "error"),
    [("juggle the red block", InstructionError), ('{"stages": [', TaskSpecError)],
)
def test_an_unreadable_goal_says_what_was_wrong(text: str, error: type[ValueError]) -> None:
    with pytest.raises(error):
        Goal.read(text, OBJECTS)
