"""What each page and API list shows, read through ``storage`` and ``skills`` (no SQL here).

Every function takes a read session and returns ``web.schemas`` models, built inside the
transaction; the HTML pages and the JSON API call the same functions, so they never differ.
Callers use ``from web import views`` and ``views.<function>(...)``.

One module per concept: ``runs`` (experiments, their iterations, curves and metrics),
``library`` (the skill table, a skill's page and curve), ``proposals`` (the curriculum and the
review queue), ``decision_log`` (planner calls), ``command_queue`` (commands to the daemons)
and ``artifacts``; ``paging`` holds the keyset paging every list shares.
"""

from web.views.artifacts import artifact
from web.views.command_queue import commands
from web.views.decision_log import decision, decision_kinds, decisions
from web.views.library import skill, skill_curve, skill_table
from web.views.proposals import review_queue, tasks
from web.views.runs import (
    experiment_overview,
    experiments,
    iterations,
    metric_chart_points,
    metric_series,
    training_curves,
)

__all__ = [
    "artifact",
    "commands",
    "decision",
    "decision_kinds",
    "decisions",
    "experiment_overview",
    "experiments",
    "iterations",
    "metric_chart_points",
    "metric_series",
    "review_queue",
    "skill",
    "skill_curve",
    "skill_table",
    "tasks",
    "training_curves",
]
