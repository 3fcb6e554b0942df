"""Shared inputs of the planner tests: a scene, a library, typed questions and pictures."""

from __future__ import annotations

from typing import Any

import pytest

from experimenter.planner import (
    AnalyzeInput,
    BudgetLine,
    CurvePoint,
    DecomposeInput,
    Image,
    LibrarySkill,
    ProposeInput,
    SkillProgress,
)
from experimenter.planner.plots import Curve, learning_curves_png

OBJECTS = ["red", "green", "blue"]


def spec(*stages: list[tuple[str, ...]]) -> dict[str, Any]:
    """``spec([("on", "red", "blue"), ("released", "red")])`` -> a spec dict."""
    return {"stages": [{"all": [{"pred": a[0], "args": list(a[1:])} for a in s]} for s in stages]}


STACK = spec([("on", "red", "blue"), ("released", "red")])


def curve(skill_id: int, instruction: str, rates: list[float]) -> SkillProgress:
    points = [CurvePoint(env_steps=10_000 * (i + 1), success_rate=r) for i, r in enumerate(rates)]
    return SkillProgress(skill_id=skill_id, instruction=instruction, points=points)


@pytest.fixture(scope="session")
def pictures() -> list[Image]:
    """A learning-curve plot and a stand-in scene picture, both real PNGs."""
    curves = learning_curves_png([Curve("lift the red block", [10_000, 20_000], [0.1, 0.4])])
    scene = learning_curves_png([], size_px=128)
    return [Image(name="learning_curves.png", png=curves), Image(name="scene.png", png=scene)]


def analyze_input() -> AnalyzeInput:
    return AnalyzeInput(
        skills=[
            curve(1, "reach the red block", [0.5, 0.85, 0.9]),
            curve(2, "lift the red block", [0.0, 0.1, 0.3, 0.5]),
        ],
        budgets=[BudgetLine(name="env steps", used=40_000, limit=1_000_000)],
    )


def library() -> list[LibrarySkill]:
    return [
        LibrarySkill(skill_id=1, instruction="reach the red block", spec=spec([("reach", "red")]),
                     status="learned", success_rate=0.9),
        LibrarySkill(skill_id=2, instruction="grasp the red block",
                     spec=spec([("grasped", "red")]), status="training", success_rate=0.4),
    ]  # fmt: skip


def propose_input(**overrides: Any) -> ProposeInput:
    return ProposeInput(objects=OBJECTS, library=library(), **overrides)


def decompose_input() -> DecomposeInput:
    return DecomposeInput(
        objects=OBJECTS, task=STACK, instruction="stack red on blue", library=library()
    )


GOOD_ANALYSIS = {
    "judgements": [
        {"skill_id": 1, "reason": "high and flat", "verdict": "learned", "confidence": 0.9},
        {"skill_id": 2, "reason": "rising", "verdict": "improving", "confidence": 0.7},
    ],
    "summary": "fine",
}
