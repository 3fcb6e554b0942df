"""Asking a planner every question of the labelled set, and the figures of its answers.

Each item's question goes through ``Planner.ask`` (what ``analyze`` / ``propose`` /
``decompose`` call in the loop) with the loop's pictures (the curve and the scene for
*analyze*, the scene for *propose*): the same budgets, retries, repair and fallback. The whole
set is one iteration of the loop: a backend that gives up (retries or time spent, a refused
key) stays down, and the offline rules answer the rest, each such answer counted as not the
backend's own.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from experimenter.planner.answers import VERDICTS, Verdict
from experimenter.planner.asking import Answer, Planner
from experimenter.planner.bench.labelled import LabelledSet
from experimenter.planner.bench.retrieval import Library
from experimenter.planner.bench.scoring import (
    ProposalScore,
    decomposition_match,
    score_proposals,
    verdict_correct,
)
from experimenter.planner.inputs import Image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asked:
    """One question as asked: whose answer it got and what it cost."""

    item: str
    own: bool
    """The configured backend's answer (not the offline rules' after a fallback)."""
    fallback: str | None
    tokens_in: int
    tokens_out: int
    dollars: float
    seconds: float


@dataclass(frozen=True)
class AnalyzeResult:
    asked: Asked
    label: Verdict
    verdict: Verdict | None
    """The backend's own verdict (None when the rules answered instead)."""

    @property
    def correct(self) -> bool:
        return verdict_correct(self.verdict, self.label)


@dataclass(frozen=True)
class ProposeResult:
    asked: Asked
    score: ProposalScore


@dataclass(frozen=True)
class DecomposeResult:
    asked: Asked
    match: float
    top1: float
    top3: float


@dataclass
class BenchReport:
    """Every question's result; ``figures()`` sums them up."""

    backend: str
    model: str
    analyze: list[AnalyzeResult] = field(default_factory=list)
    propose: list[ProposeResult] = field(default_factory=list)
    decompose: list[DecomposeResult] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The scores of each question, and tokens and dollars per question."""
        asked = [
            *(r.asked for r in self.analyze),
            *(r.asked for r in self.propose),
            *(r.asked for r in self.decompose),
        ]
        replaced = [a for a in asked if not a.own]
        return {
            "backend": self.backend,
            "model": self.model,
            # Answers the offline rules gave in the backend's place, and why the first was.
            "replaced": len(replaced),
            "first_replaced_because": replaced[0].fallback if replaced else None,
            "analyze": _analyze_figures(self.analyze),
            "propose": _propose_figures(self.propose),
            "decompose": _decompose_figures(self.decompose),
            "cost": {
                "analyze": _cost([r.asked for r in self.analyze]),
                "propose": _cost([r.asked for r in self.propose]),
                "decompose": _cost([r.asked for r in self.decompose]),
            },
        }

    def items(self) -> list[dict[str, Any]]:
        """One line per question (for --json): the item, whose answer, its scores."""
        out: list[dict[str, Any]] = []
        for a in self.analyze:
            out.append({"question": "analyze", **_asked(a.asked), "label": a.label,
                        "verdict": a.verdict, "correct": a.correct})  # fmt: skip
        for p in self.propose:
            s = p.score
            out.append({"question": "propose", **_asked(p.asked), "proposed": s.proposed,
                        "valid": s.valid, "new": s.new, "toward_goal": s.toward_goal,
                        "rejected": list(s.problems)})  # fmt: skip
        for d in self.decompose:
            out.append({"question": "decompose", **_asked(d.asked), "match": round(d.match, 4),
                        "top1": round(d.top1, 4), "top3": round(d.top3, 4)})  # fmt: skip
        return out


def run_bench(planner: Planner, labelled: LabelledSet) -> BenchReport:
    """Ask ``planner`` every question of ``labelled``; score each answer."""
    backend = planner.backend
    report = BenchReport(backend=backend.name, model=backend.model)
    scene = labelled.scene_image
    total = sum(labelled.size().values())
    done = 0
    log.info("asking %s %d questions: %s", backend.name, total, labelled.size())
    for a in labelled.analyze:
        answer, asked = _ask(planner, a.id, a.input, [labelled.image(a.curves), scene])
        judged = answer.value.by_skill().get(a.skill_id) if asked.own else None
        verdict = judged.verdict if judged is not None else None
        report.analyze.append(AnalyzeResult(asked, a.label, verdict))
        done += 1
        log.debug("%d/%d analyze %s: %s (label %s)", done, total, a.id, verdict, a.label)
    for p in labelled.propose:
        answer, asked = _ask(planner, p.id, p.input, [scene])
        score = score_proposals(p, answer.value if asked.own else None)
        report.propose.append(ProposeResult(asked, score))
        done += 1
        log.debug("%d/%d propose %s: %s", done, total, p.id, score)
    with Library(labelled.decompose) as library:
        for d in labelled.decompose:
            answer, asked = _ask(planner, d.id, d.input, [])
            own = answer.value if asked.own else None
            found = library.score(d, own)
            match = decomposition_match(d, own)
            report.decompose.append(DecomposeResult(asked, match, found.top1, found.top3))
            done += 1
            log.debug("%d/%d decompose %s: match %.2f", done, total, d.id, match)
    return report


def _ask(
    planner: Planner, item: str, inp: Any, images: Sequence[Image]
) -> tuple[Answer[Any], Asked]:
    start = time.perf_counter()
    answer = planner.ask(inp, images)
    seconds = time.perf_counter() - start
    asked = Asked(
        item=item, own=answer.fallback is None, fallback=answer.fallback,
        tokens_in=answer.usage.tokens_in, tokens_out=answer.usage.tokens_out,
        dollars=answer.dollars, seconds=seconds,
    )  # fmt: skip
    if answer.fallback is not None:
        # Once the backend is down every later question says so: the first one is enough.
        again = answer.fallback.startswith(f"{planner.backend.name} is down: ")
        level = logging.DEBUG if again else logging.WARNING
        log.log(level, "%s: not answered by %s: %s", item, planner.backend.name, answer.fallback)
    return answer, asked


def _asked(a: Asked) -> dict[str, Any]:
    return {
        "item": a.item, "own": a.own, "fallback": a.fallback, "tokens_in": a.tokens_in,
        "tokens_out": a.tokens_out, "dollars": a.dollars, "seconds": round(a.seconds, 4),
    }  # fmt: skip


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _analyze_figures(results: Sequence[AnalyzeResult]) -> dict[str, Any]:
    confusion = {label: Counter[str]() for label in VERDICTS}
    for r in results:
        confusion[r.label][r.verdict or "not answered"] += 1
    return {
        "questions": len(results),
        "answered": sum(r.asked.own for r in results),
        "accuracy": _share(sum(r.correct for r in results), len(results)),
        "recall": {
            label: _share(confusion[label][label], sum(confusion[label].values()))
            for label in VERDICTS
        },
        # The two costly mistakes: a skill promoted before training showed it learned, and
        # one given up on although training went on to improve or learn it.
        "learned_too_early": sum(r.verdict == "learned" and r.label != "learned" for r in results),
        "stalled_too_early": sum(r.verdict == "stalled" and r.label != "stalled" for r in results),
        "confusion": {label: dict(c) for label, c in confusion.items()},
    }


def _propose_figures(results: Sequence[ProposeResult]) -> dict[str, Any]:
    """Shares of all the proposals (the tasks asked for when the answer was not the
    backend's own); an empty answer adds none (with a goal whose path is busy, proposing
    nothing is right, and an off-path task lowers ``toward_goal``)."""
    scores = [r.score for r in results]
    proposed = sum(s.proposed for s in scores)
    goal = [s for s in scores if s.toward_goal is not None]
    return {
        "questions": len(results),
        "answered": sum(r.asked.own for r in results),
        "empty": sum(r.asked.own and not r.score.proposed for r in results),
        "proposals": proposed,
        "valid": _share(sum(s.valid for s in scores), proposed),
        "new": _share(sum(s.new for s in scores), proposed),
        "goal_proposals": sum(s.proposed for s in goal),
        "toward_goal": _share(sum(s.toward_goal or 0 for s in goal), sum(s.proposed for s in goal)),
    }


def _decompose_figures(results: Sequence[DecomposeResult]) -> dict[str, Any]:
    return {
        "questions": len(results),
        "answered": sum(r.asked.own for r in results),
        "match": _mean([r.match for r in results]),
        "retrieval_top1": _mean([r.top1 for r in results]),
        "retrieval_top3": _mean([r.top3 for r in results]),
    }


def _cost(asked: Sequence[Asked]) -> dict[str, Any]:
    return {
        "questions": len(asked),
        "tokens_in": _mean([a.tokens_in for a in asked]),
        "tokens_out": _mean([a.tokens_out for a in asked]),
        "dollars": _mean([a.dollars for a in asked]),
        "dollars_total": sum(a.dollars for a in asked),
        "seconds": _mean([a.seconds for a in asked]),
    }
