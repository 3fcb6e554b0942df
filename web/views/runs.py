"""Experiments: the list, an experiment's page (status, budgets, timeline, skills in
training, metrics, workers), its iterations, learning curves and metric series."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from settings import Budgets, LoopSettings
from skills import list_skills
from skills.browse import status_counts_by_experiment, success_series
from skills.plots import Curve
from storage import runs
from storage.commands import list_commands
from storage.episodes import worker_shares
from storage.metrics import downsampled_series, latest_metric, metric_names, metric_points
from storage.models import Experiment, Iteration
from web.schemas import (
    BudgetUse,
    ExperimentOverview,
    ExperimentSummary,
    IterationPublic,
    MetricSeries,
    Page,
    WorkerPublic,
)
from web.views.command_queue import public_commands
from web.views.paging import keyset_page

log = logging.getLogger(__name__)


def _node(iteration: Iteration | None) -> str | None:
    if iteration is None:
        return None
    summary = iteration.summary or {}
    node = summary.get("node") or summary.get("current_node")
    return str(node) if node is not None else None


def _iteration(it: Iteration) -> IterationPublic:
    return IterationPublic(
        id=it.id, number=it.number, status=it.status, env_steps=it.env_steps,
        summary=it.summary or {}, started_at=it.started_at, finished_at=it.finished_at,
        node=_node(it),
    )  # fmt: skip


def _summary(
    exp: Experiment,
    counts: dict[str, int],
    latest: Iteration | None,
    alive_seconds: float,
    settings: LoopSettings | None,
) -> ExperimentSummary:
    now = datetime.now(UTC)
    alive = (
        exp.heartbeat_at is not None
        and (now - exp.heartbeat_at).total_seconds() <= alive_seconds
        and exp.status in ("running", "paused", "created")
    )
    stale, state = runs.experiment_state(exp, stale_after=alive_seconds, now=now)
    return ExperimentSummary(
        id=exp.id, name=exp.name, status=exp.status, stale=stale, state=state,
        planner_backend=exp.planner_backend,
        goal=exp.goal, skills=counts, env_steps_used=exp.env_steps_used,
        wall_seconds_used=exp.wall_seconds_used, dollars_used=exp.dollars_used,
        budgets=_limits(settings), heartbeat_at=exp.heartbeat_at, alive=alive,
        iteration=latest.number if latest else None, node=_node(latest),
        created_at=exp.created_at, finished_at=exp.finished_at, stop_reason=exp.stop_reason,
    )  # fmt: skip


def experiments(
    session: Session, *, limit: int, before_id: int | None, alive_seconds: float
) -> Page[ExperimentSummary]:
    """A page of experiments, newest first, with their skills counted by status."""
    page, next_before = keyset_page(
        lambda n, b: runs.list_experiments(session, newest_first=True, limit=n, before_id=b),
        limit=limit, before=before_id, cursor=lambda e: e.id,
    )  # fmt: skip
    ids = [e.id for e in page]
    counts = status_counts_by_experiment(session, experiment_ids=ids)
    latest = runs.latest_iterations(session, experiment_ids=ids)
    items = [_summary(e, counts[e.id], latest.get(e.id), alive_seconds, _settings(e)) for e in page]
    return Page(items=items, next_before=next_before)


def _settings(exp: Experiment) -> LoopSettings | None:
    """The experiment's configuration as the daemon stores it, typed (older records load:
    ``settings.loop``); None for a record that is not one (written by something else)."""
    try:
        return LoopSettings.model_validate(exp.config or {})
    except ValidationError as e:
        log.warning("experiment %d: its stored configuration does not load: %s", exp.id, e)
        return None


def _limits(settings: LoopSettings | None) -> Budgets:
    """The experiment's budgets (none when its configuration does not load)."""
    if settings is None:
        return Budgets()
    return Budgets(**settings.model_dump(include=set(Budgets.model_fields)))


def _budgets(exp: Experiment, settings: LoopSettings | None) -> list[BudgetUse]:
    limits = _limits(settings)
    rows = (
        ("env_steps", float(exp.env_steps_used), limits.max_env_steps),
        ("wall_seconds", exp.wall_seconds_used, limits.max_hours and limits.max_hours * 3600),
        ("dollars", exp.dollars_used, limits.max_usd),
    )
    return [
        BudgetUse(name=name, used=used, limit=limit, fraction=used / limit if limit else None)
        for name, used, limit in rows
    ]


def experiment_overview(
    session: Session, *, experiment_id: int, alive_seconds: float, iterations: int = 50
) -> ExperimentOverview:
    """The experiment page: status, budgets, timeline, skills in training, metrics, workers."""
    exp = runs.get_experiment(session, experiment_id=experiment_id)
    counts = status_counts_by_experiment(session, experiment_ids=[exp.id])[exp.id]
    its = runs.list_iterations(session, experiment_id=exp.id, limit=iterations)
    training = list_skills(session, status="training", experiment_id=exp.id, limit=100)
    metrics = []
    for name in metric_names(session, experiment_id=exp.id):
        last = latest_metric(session, experiment_id=exp.id, name=name)
        metrics.append(
            MetricSeries(
                name=name,
                last_step=last[0] if last else None,
                last_value=last[1] if last else None,
            )
        )
    settings = _settings(exp)
    return ExperimentOverview(
        experiment=_summary(exp, counts, its[0] if its else None, alive_seconds, settings),
        config=settings,
        goal_spec=exp.goal_spec,
        budgets=_budgets(exp, settings),
        iterations=[_iteration(i) for i in its],
        training=training,
        metrics=metrics,
        commands=public_commands(list_commands(session, experiment_id=exp.id, limit=10)),
        workers=[
            WorkerPublic.model_validate(w) for w in worker_shares(session, experiment_id=exp.id)
        ],
        curves_png=f"/experiments/{exp.id}/curves.png",
    )


def iterations(
    session: Session, *, experiment_id: int, limit: int, before: int | None
) -> Page[IterationPublic]:
    """A page of an experiment's iterations, newest first (cursor: the iteration number)."""
    runs.get_experiment(session, experiment_id=experiment_id)
    page, next_before = keyset_page(
        lambda n, b: runs.list_iterations(
            session, experiment_id=experiment_id, limit=n, before_number=b
        ),
        limit=limit, before=before, cursor=lambda i: i.number,
    )  # fmt: skip
    return Page(items=[_iteration(i) for i in page], next_before=next_before)


def training_curves(session: Session, *, experiment_id: int) -> tuple[list[Curve], float | None]:
    """The learning curves of the experiment's skills in training, as the planner draws
    them (label ``id: instruction``), and the experiment's success threshold."""
    exp = runs.get_experiment(session, experiment_id=experiment_id)
    training = list_skills(session, status="training", experiment_id=exp.id, limit=100)
    series = success_series(
        session, skill_ids=[k.id for k in training], experiment_id=exp.id, last=1000
    )
    curves = [
        Curve(
            label=f"{k.id}: {k.instruction}",
            steps=[p.env_steps for p in series[k.id]],
            rates=[p.success_rate for p in series[k.id]],
        )
        for k in training
    ]
    settings = _settings(exp)
    return curves, settings.threshold if settings else None


def metric_series(
    session: Session, *, experiment_id: int, name: str, after_step: int | None, limit: int
) -> list[tuple[int, float]]:
    """Points of a metric series in step order (a page after ``after_step``)."""
    runs.get_experiment(session, experiment_id=experiment_id)
    return metric_points(
        session, experiment_id=experiment_id, name=name, after_step=after_step, limit=limit
    )


def metric_chart_points(
    session: Session, *, experiment_id: int, name: str
) -> list[tuple[int, float]]:
    """A metric series reduced for a chart."""
    runs.get_experiment(session, experiment_id=experiment_id)
    return downsampled_series(session, experiment_id=experiment_id, name=name)
