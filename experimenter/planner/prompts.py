"""Prompt rendering: one template file per message under ``experimenter/planner/templates/``,
one function each.

Templates name their slots ``{{name}}`` (single braces stay literal, so JSON examples need
no escaping). ``fill`` refuses a template whose slots and values differ in either direction,
so a template edited without its renderer fails loudly instead of sending ``{{goal}}`` to
a model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from experimenter.planner.inputs import (
    AnalyzeInput,
    BudgetLine,
    DecomposeInput,
    LibrarySkill,
    ProposeInput,
)
from storage.enums import SkillStatus
from tasks import predicate_catalogue

SLOT = re.compile(r"\{\{(\w+)\}\}")
NONE = "(none)"


@cache
def template(name: str) -> str:
    """The text of ``experimenter/planner/templates/<name>.md``."""
    folder = resources.files("experimenter.planner.templates")
    return folder.joinpath(f"{name}.md").read_text("utf-8")


def slots(text: str) -> set[str]:
    """The slot names a template uses."""
    return set(SLOT.findall(text))


def fill(name: str, values: Mapping[str, object]) -> str:
    """Template ``name`` with every slot replaced; a missing or unused value is an error."""
    text = template(name)
    wanted = slots(text)
    missing, unused = wanted - set(values), set(values) - wanted
    if missing or unused:
        raise ValueError(
            f"prompt {name!r}: slots without a value {sorted(missing)}, values without a slot "
            f"{sorted(unused)}; make experimenter/planner/templates/{name}.md and its renderer "
            "agree"
        )
    return SLOT.sub(lambda m: str(values[m.group(1)]), text).strip() + "\n"


def _percent(rate: float | None) -> str:
    return "not evaluated" if rate is None else f"{rate:.0%}"


def _lines(items: list[str]) -> str:
    return "\n".join(f"- {x}" for x in items) if items else NONE


def _budget(b: BudgetLine) -> str:
    limit = "no limit" if b.limit is None else f"{b.limit:g}"
    return f"{b.name}: {b.used:g} of {limit}"


def _spec_json(spec: Mapping[str, Any]) -> str:
    return json.dumps(spec, separators=(",", ":"), sort_keys=True)


def render_analyze(inp: AnalyzeInput) -> str:
    """Question 1: verdicts on the skills in training."""
    skills = []
    for s in inp.skills:
        curve = ", ".join(f"{p.env_steps} -> {p.success_rate:.0%}" for p in s.points)
        line = f"{s.skill_id}: {s.instruction}; {curve or 'no evaluations yet'}"
        if s.threshold is not None and s.threshold != inp.threshold:
            line += f" [its own bar: {s.threshold:.0%}, not {inp.threshold:.0%}]"
        last = s.points[-1] if s.points else None
        if last is not None and last.lower_bound is not None and last.episodes:
            line += (
                f" (newest: {round(last.success_rate * last.episodes)} of {last.episodes} "
                f"episodes, 95 % lower bound {last.lower_bound:.0%})"
            )
        skills.append(line)
    return fill(
        "analyze",
        {
            "threshold": f"{inp.threshold:.0%}",
            "skills": _lines(skills),
            "budgets": _lines([_budget(b) for b in inp.budgets]),
        },
    )


def _by_status(library: list[LibrarySkill], *statuses: SkillStatus) -> list[LibrarySkill]:
    return [s for s in library if s.status in statuses]


def render_propose(inp: ProposeInput) -> str:
    """Question 2: new tasks from the library, the rejections and the goal."""
    if inp.goal is None:
        goal = "none; grow a broad library of skills."
    else:
        words = f'"{inp.goal_instruction}" ' if inp.goal_instruction else ""
        goal = f"{words}{_spec_json(inp.goal.model_dump(mode='json', exclude_none=True))}"
    learned = [
        f"{s.instruction} ({_percent(s.success_rate)})"
        for s in _by_status(inp.library, SkillStatus.LEARNED, SkillStatus.RETIRED)
    ]
    pending = [
        s.instruction for s in _by_status(inp.library, SkillStatus.TRAINING, SkillStatus.PROPOSED)
    ]
    failed = [s.instruction for s in _by_status(inp.library, SkillStatus.FAILED)]
    rejections = [f'"{r.instruction}": {r.reason}' for r in inp.rejections]
    return fill(
        "propose",
        {
            "objects": ", ".join(inp.objects),
            "count": inp.count,
            "predicates": predicate_catalogue(),
            "goal": goal,
            "learned": _lines(learned),
            "pending": _lines(pending),
            "failed": _lines(failed),
            "rejections": _lines(rejections),
        },
    )


def render_decompose(inp: DecomposeInput) -> str:
    """Question 3: ordered subtasks of a task."""
    library = [f"{s.instruction} ({s.status}, {_percent(s.success_rate)})" for s in inp.library]
    return fill(
        "decompose",
        {
            "objects": ", ".join(inp.objects),
            "max_subtasks": inp.max_subtasks,
            "instruction": inp.instruction,
            "task": _spec_json(inp.task),
            "predicates": predicate_catalogue(),
            "library": _lines(library),
        },
    )


def render_repair(*, prompt: str, answer: str, error: str) -> str:
    """The one re-ask after an invalid answer: the question again, the answer, what was wrong."""
    return fill("repair", {"prompt": prompt.strip(), "answer": answer.strip(), "error": error})
