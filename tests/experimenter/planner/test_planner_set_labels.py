"""The labelling rule of the planner benchmark's set (benchmarks/planner_set/build.py): a cut
of a learning curve is labelled by what the evaluations after it showed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "planner_set" / "build.py"


@pytest.fixture(scope="module")
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("planner_set_build", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def curve(build: ModuleType, rates: list[float], *, start: int = 2400, confirm: bool = True):
    """Evaluations every 2,400 env steps: 10 episodes, or 50 where the rate reaches 80 %
    (the loop's confirmation) when ``confirm``."""
    out = []
    for i, r in enumerate(rates):
        episodes = 50 if confirm and r >= 0.8 else 10
        out.append(build.Evaluation(start + 2400 * i, round(r * episodes), episodes, ""))
    return out


def label(build: ModuleType, evals: list, i: int, bar: float = 0.8) -> str | None:
    found = build.label(evals, i, bar, build.segments(evals))
    return None if found is None else found[0]


def test_a_curve_confirmed_at_the_bar_within_five_evaluations_is_learned(build) -> None:
    evals = curve(build, [0.0, 0.3, 0.6, 0.8, 0.9, 0.96])
    assert label(build, evals, 4) == "learned"  # 46 or more of 50: lower bound >= 80 %
    # Confirmed soon, but far below the bar meanwhile: still improving, not learned.
    assert label(build, evals, 1) == "improving"


def test_a_curve_that_reaches_the_bar_however_late_was_never_stalled(build) -> None:
    flat_then_up = [0.0] * 30 + [0.5, 0.7, 0.96]
    assert label(build, curve(build, flat_then_up), 3) == "improving"


def test_a_flat_curve_for_twenty_evaluations_is_stalled_and_a_rise_is_improving(build) -> None:
    assert label(build, curve(build, [0.0] * 30), 4) == "stalled"
    rising = [0.1] * 5 + [0.1 + 0.02 * k for k in range(1, 25)]
    assert label(build, curve(build, rising, confirm=False), 4) == "improving"


def test_a_cut_without_enough_training_after_it_is_not_labelled(build) -> None:
    # Failed after 10 flat evaluations and retried 100k env steps later: the retry is
    # another stretch of training and does not label the first.
    first = curve(build, [0.0] * 10)
    retry = curve(build, [0.0] * 5 + [0.9] * 20, start=first[-1].env_steps + 100_000)
    evals = first + retry
    assert build.segments(evals)[9:11] == [0, 1]
    assert label(build, evals, 3) is None
    assert label(build, curve(build, [0.0] * 10), 3) is None
