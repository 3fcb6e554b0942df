"""Prompts are files, rendered by one function each, with every slot filled."""

from __future__ import annotations

import pytest
from planner_helpers import STACK, analyze_input, decompose_input, propose_input

from experimenter.planner import Rejection
from experimenter.planner.prompts import (
    fill,
    render_analyze,
    render_decompose,
    render_propose,
    render_repair,
    slots,
    template,
)


def test_every_template_slot_is_filled_by_its_renderer() -> None:
    rendered = {
        "analyze": render_analyze(analyze_input()),
        "propose": render_propose(
            propose_input(
                goal=STACK,
                goal_instruction="stack red on blue",
                rejections=[Rejection(instruction="fly", reason="unknown predicate 'fly'")],
            )
        ),
        "decompose": render_decompose(decompose_input()),
        "repair": render_repair(prompt="Q?", answer="{}", error="judgements: Field required"),
    }
    for name, text in rendered.items():
        assert slots(template(name)), f"{name} has no slots"
        assert "{{" not in text and "}}" not in text, f"{name} left a slot unfilled"


def test_prompts_carry_what_the_model_needs() -> None:
    analyze = render_analyze(analyze_input())
    assert "1: reach the red block; 10000 -> 50%, 20000 -> 85%, 30000 -> 90%" in analyze
    assert "env steps: 40000 of 1e+06" in analyze and "80%" in analyze
    propose = render_propose(
        propose_input(rejections=[Rejection(instruction="fly", reason="unknown predicate 'fly'")])
    )
    assert "reach the red block (90%)" in propose  # learned, with its success
    assert "- grasp the red block" in propose  # training: not to be proposed again
    assert "\"fly\": unknown predicate 'fly'" in propose  # the rejection and its reason
    assert "lifted(o; height=0.1)" in propose  # the predicate catalogue
    assert "Goal: none" in propose
    decompose = render_decompose(decompose_input())
    assert '"pred":"on"' in decompose and "at most 6" in decompose


def test_a_goal_with_its_own_bar_is_shown_with_it() -> None:
    inp = analyze_input()
    inp.skills[0] = inp.skills[0].model_copy(update={"threshold": 0.9})
    text = render_analyze(inp)
    assert "30000 -> 90% [its own bar: 90%, not 80%]" in text
    assert "50% [its own bar" not in text  # the other skill keeps the run's threshold


def test_fill_refuses_missing_and_unused_values() -> None:
    with pytest.raises(ValueError, match=r"slots without a value \['error'\]"):
        fill("repair", {"prompt": "q", "answer": "a"})
    with pytest.raises(ValueError, match=r"values without a slot \['extra'\]"):
        fill("repair", {"prompt": "q", "answer": "a", "error": "e", "extra": 1})
