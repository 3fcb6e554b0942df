"""Planner figures: prompt size and cost per question, and the offline backend's latency.

Tokens are estimated without a network: text at 4 characters a token (Google's rule of
thumb for Gemini), each image that fits in 384 × 384 px at 258 tokens (Gemini's billing),
and the response schema counted as prompt text (structured output adds it to the prompt).
Output tokens are the length of a typical answer; thinking is added at its budget as the
worst case. Prices are the planner's default price table.

    python benchmarks/planner.py [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from controllers.layout import SceneConfig
from experimenter.planner import (
    AnalyzeInput,
    BudgetLine,
    CurvePoint,
    DecomposeInput,
    LibrarySkill,
    Planner,
    PlannerSettings,
    ProposeInput,
    Rejection,
    SkillProgress,
)
from experimenter.planner.backends.base import Request
from experimenter.planner.backends.offline import OfflineBackend
from experimenter.planner.curriculum import ladder
from experimenter.planner.plots import curves_image, learning_curves_png
from experimenter.planner.questions import question

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 258
OBJECTS = list(SceneConfig().layout().object_names)


def state() -> tuple[AnalyzeInput, ProposeInput, DecomposeInput]:
    """A mid-run state: 4 skills in training with 8 evaluations each, a library of 28."""
    rungs = ladder(tuple(OBJECTS))
    statuses = ["learned"] * 20 + ["training"] * 5 + ["failed"] * 3
    library = [
        LibrarySkill(
            instruction=r.instruction,
            spec=r.spec,
            spec_hash=r.spec_hash,
            status=st,
            success_rate=0.85,
        )
        for r, st in zip(rungs, statuses, strict=False)
    ]
    skills = [
        SkillProgress(
            skill_id=i,
            instruction=library[20 + i].instruction,
            points=[CurvePoint(env_steps=25_000 * (j + 1), success_rate=0.1 * j) for j in range(8)],
        )
        for i in range(4)
    ]
    analyze = AnalyzeInput(
        skills=skills,
        budgets=[
            BudgetLine(name="env steps", used=200_000, limit=2_000_000),
            BudgetLine(name="planner dollars", used=0.12, limit=5),
            BudgetLine(name="wall hours", used=1.5, limit=24),
        ],
    )
    stack3 = rungs[-1].spec
    propose = ProposeInput(
        objects=OBJECTS,
        library=library,
        rejections=[Rejection(instruction=f"task {i}", reason="duplicate: ...") for i in range(5)],
        goal=stack3,
        goal_instruction="build a tower of three",
    )
    decompose = DecomposeInput(objects=OBJECTS, task=stack3, instruction="tower", library=library)
    return analyze, propose, decompose


TYPICAL_OUTPUT = {"analyze": 160, "propose": 240, "decompose": 320}
"""Tokens of a typical answer: 4 verdicts; 3 tasks with specs; 6 subtasks with specs."""


def cost_table(settings: PlannerSettings) -> list[dict[str, Any]]:
    price = settings.prices[settings.gemini_model]
    think = settings.gemini_thinking_budget or 0
    analyze, propose, decompose = state()
    images = {"analyze": 2, "propose": 1, "decompose": 0}
    rows = []
    for inp in (analyze, propose, decompose):
        q = question(inp)
        text = len(q.prompt) // CHARS_PER_TOKEN
        schema = len(json.dumps(q.schema)) // CHARS_PER_TOKEN
        pics = images[q.kind] * IMAGE_TOKENS
        tokens_in = text + schema + pics
        out = TYPICAL_OUTPUT[q.kind]
        low = (tokens_in * price.input + out * price.output) / 1e6
        high = (tokens_in * price.input + (out + think) * price.output) / 1e6
        rows.append(
            {
                "question": q.kind,
                "prompt_text_tokens": text,
                "schema_tokens": schema,
                "images": images[q.kind],
                "image_tokens": pics,
                "prompt_tokens": tokens_in,
                "output_tokens": out,
                "dollars_no_thinking": low,
                "dollars_thinking_budget": high,
            }
        )
    return rows


def latency() -> dict[str, dict[str, float]]:
    """Microseconds per offline decision: the rules alone, and through the whole planner
    (prompt rendered for the decisions row, rules, answer parsed and checked, row recorded)."""
    planner = Planner(OfflineBackend())
    out = {}
    for inp in state():
        q = question(inp)
        request = Request(q.kind, q.prompt, q.schema, (), inp)
        planner.ask(inp)

        def rules(request: Request = request) -> None:
            planner.offline.ask(request)

        def planned(inp: Any = inp) -> None:
            planner.ask(inp)

        out[q.kind] = {"rules": _best_mean_us(rules), "planner": _best_mean_us(planned)}
    return out


def _best_mean_us(fn: Callable[[], None], n: int = 200, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = PlannerSettings()
    curves = curves_image(state()[0].skills)
    figures = {
        "model": settings.gemini_model,
        "price": settings.prices[settings.gemini_model].model_dump(),
        "thinking_budget": settings.gemini_thinking_budget,
        "curve_png_bytes": len(curves.png),
        "scene_png_bytes_384": len(learning_curves_png([])),
        "questions": cost_table(settings),
        "offline_us_per_decision": latency(),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{figures['model']} at ${figures['price']}/M tokens, thinking budget "
          f"{figures['thinking_budget']}")  # fmt: skip
    print("question   text  schema  images  prompt  output  $/call  $/call(+thinking)")
    for r in figures["questions"]:
        print(
            f"{r['question']:<9} {r['prompt_text_tokens']:>5} {r['schema_tokens']:>7} "
            f"{r['image_tokens']:>7} {r['prompt_tokens']:>7} {r['output_tokens']:>7} "
            f"{r['dollars_no_thinking']:>7.5f} {r['dollars_thinking_budget']:>10.5f}"
        )
    for kind, us in figures["offline_us_per_decision"].items():
        print(f"offline {kind}: {us['rules']:.0f} us (rules), {us['planner']:.0f} us (planner)")


if __name__ == "__main__":
    main()
