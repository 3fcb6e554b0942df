"""The planner's benchmark: a labelled set from real runs, and the scores of a backend on it.

    from experimenter.planner import Planner, PlannerSettings
    from experimenter.planner.bench import load_set, run_bench

    report = run_bench(Planner.from_settings(PlannerSettings(backend="offline")), load_set())
    report.figures()["analyze"]["accuracy"]

``experimenter planner bench`` runs it from the command line. The set and its labels are
``labelled``; how an answer is scored, ``scoring`` and ``retrieval``; asking and summing up,
``runner``.
"""

from experimenter.planner.bench.labelled import (
    DEFAULT_SET,
    AnalyzeItem,
    DecomposeItem,
    LabelledSet,
    ProposeItem,
    load_set,
    write_set,
)
from experimenter.planner.bench.runner import BenchReport, run_bench

__all__ = [
    "DEFAULT_SET",
    "AnalyzeItem",
    "BenchReport",
    "DecomposeItem",
    "LabelledSet",
    "ProposeItem",
    "load_set",
    "run_bench",
    "write_set",
]
