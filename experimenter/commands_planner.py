"""``experimenter planner bench``: how well a planner backend answers, on a labelled set."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliSubCommand

from experimenter.planner_option import chosen_planner, planner_option
from experimenter.tables import table


class PlannerBench(BaseModel):
    """Score a planner backend on the labelled set built from real runs: its verdicts against
    what training later showed, its proposals' validity, novelty and steps towards the goal,
    its decompositions against known subtasks and what the library retrieves for them; and
    tokens and dollars per question. Every question goes to the backend: the response
    cache on disk is not used."""

    planner: str | None = planner_option()
    set_: Path | None = Field(
        None, alias="set",
        description="Folder of the labelled set (default: the repository's "
        "benchmarks/planner_set).",
    )  # fmt: skip
    record: Path | None = Field(
        None, description="Also write the backend's answers to this decisions file, to score "
        "them again for free: --planner replay with EXPERIMENTER_PLANNER_REPLAY_FILE=FILE.",
    )  # fmt: skip
    json_: bool = Field(
        False, alias="json", description="Print JSON (the figures and every question's scores)."
    )

    def cli_cmd(self) -> None:
        from experimenter.planner import BudgetExhausted, MemoryRecorder, Planner
        from experimenter.planner.bench import load_set, run_bench
        from experimenter.planner.record import (
            RecordedAnswer,
            prompt_digest,
            write_decisions_file,
        )

        # Alembic reports every step of the retrieval library's schema at INFO.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        labelled = load_set(self.set_)
        settings = chosen_planner(self.planner)
        recorder = MemoryRecorder()
        # The backend is measured, not the cache: every question goes out again.
        planner = Planner.from_settings(
            settings.model_copy(update={"cache_dir": None}), recorder=recorder
        )
        try:
            report = run_bench(planner, labelled)
        except BudgetExhausted as e:
            print(
                f"experimenter: {e}; the benchmark stopped. Raise the budget "
                "(EXPERIMENTER_PLANNER_MAX_DOLLARS, _MAX_CALLS, _MAX_TOKENS) and run it again",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
        if self.record is not None:
            answers = [
                RecordedAnswer(
                    kind=d.kind,
                    prompt_sha256=prompt_digest(d.prompt),
                    response=d.response,
                    backend=d.backend,
                    model=d.model,
                )
                # Invalid answers too, so that a replay repairs and falls back where this
                # run did; the offline rules' answers in the backend's place are left out.
                for d in recorder.decisions
                if d.response is not None and d.backend == report.backend
            ]
            write_decisions_file(self.record, answers)
        figures = report.figures()
        if self.json_:
            out = {"set": str(labelled.folder), **figures, "questions": report.items()}
            print(json.dumps(out, indent=2))
            return
        print(_summary(figures, str(labelled.folder), labelled.size()))
        if self.record is not None:
            print(f"answers written to {self.record}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _summary(f: dict[str, Any], folder: str, size: dict[str, int]) -> str:
    """The figures for a person: one line per question, then the cost table."""
    a, p, d = f["analyze"], f["propose"], f["decompose"]
    recall = ", ".join(
        f"{label} {_pct(r)}" for label, r in a["recall"].items()
    )  # of each label, the share judged so
    lines = [
        f"planner {f['backend']} ({f['model']}) on {sum(size.values())} questions of {folder}",
        f"analyze:   verdict agrees with what training later showed {_pct(a['accuracy'])} "
        f"({recall}); said learned too early {a['learned_too_early']}, stalled too early "
        f"{a['stalled_too_early']}",
        f"propose:   {p['proposals']} tasks: valid {_pct(p['valid'])}, new {_pct(p['new'])}, "
        f"a step towards the goal {_pct(p['toward_goal'])} (of {p['goal_proposals']} with a "
        f"goal); {p['empty']} answers proposed nothing",
        f"decompose: subtasks match the known ones {_pct(d['match'])} (F1, in order); the "
        f"library retrieves them top-1 {_pct(d['retrieval_top1'])}, top-3 "
        f"{_pct(d['retrieval_top3'])}",
    ]
    if f["replaced"]:
        lines.append(
            f"{f['replaced']} answers were the offline rules' in the backend's place (counted "
            f"wrong); the first because: {f['first_replaced_because']}"
        )
    lines.append("")
    rows = []
    for kind in ("analyze", "propose", "decompose"):
        c, answered = f["cost"][kind], f[kind]["answered"]
        rows.append([
            kind, f"{answered}/{c['questions']}", _num(c["tokens_in"]), _num(c["tokens_out"]),
            f"${c['dollars'] or 0:.5f}", f"${c['dollars_total']:.4f}", f"{c['seconds'] or 0:.2f}",
        ])  # fmt: skip
    headers = ["question", "own answers", "tokens in", "tokens out", "$ / question", "$ total",
               "s / question"]  # fmt: skip
    return "\n".join(lines) + table(headers, rows)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


class PlannerCommands(BaseModel):
    """The planner on its own, outside an experiment."""

    bench: CliSubCommand[PlannerBench]

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)
