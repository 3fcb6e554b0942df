"""What each page and API list shows, read through ``storage`` and ``skills`` (no SQL here).

Every function takes a read session and returns ``web.schemas`` models, built inside the
transaction; the HTML pages and the JSON API call the same functions, so they never differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from settings import Budgets, LoopSettings
from skills import get_skill, list_skills, skill_detail
from skills.browse import matching_ids, skill_page, status_counts_by_experiment, success_series
from skills.errors import SkillError
from skills.plots import Curve
from skills.schemas import SkillRef
from skills.search import load_skills, search_ids
from storage import runs
from storage.artifacts import get_artifact
from storage.commands import list_commands
from storage.decisions import decision_kinds as recorded_kinds
from storage.decisions import get_decision, images_of, list_decisions
from storage.enums import CommandStatus, TaskStatus
from storage.episodes import latest_episode
from storage.metrics import downsampled_series, latest_metric, metric_names, metric_points
from storage.models import Experiment, Iteration, Task
from storage.pages import MAX_PAGE
from storage.proposals import decomposition_steps, list_tasks
from web.schemas import (
    BudgetUse,
    CommandPublic,
    DecisionPublic,
    ExperimentOverview,
    ExperimentSummary,
    IterationPublic,
    MetricSeries,
    Page,
    ReviewQueue,
    SkillPage,
    SkillRow,
    SkillTable,
    StepPublic,
    TaskPublic,
    VideoRef,
)

log = logging.getLogger(__name__)
SPARK_POINTS = 20
"""Evaluations drawn in a sparkline."""
SEARCH_WINDOW = 1000
"""Most search hits a library search keeps (then filtered, sorted and paged)."""
R = TypeVar("R")


def _page(
    fetch: Callable[[int, int | None], list[R]],
    *,
    limit: int,
    before: int | None,
    cursor: Callable[[R], int],
) -> tuple[list[R], int | None]:
    """At most ``limit`` rows before the cursor ``before``, and the cursor of the next page
    (``None`` on the last). One row more than asked says whether there is a next page; at the
    largest page the storage allows, a one-row look past the page does."""
    if limit < MAX_PAGE:
        rows = fetch(limit + 1, before)
        page = rows[:limit]
        more = len(rows) > limit
    else:
        page = fetch(limit, before)
        more = len(page) == limit and bool(fetch(1, cursor(page[-1])))
    return page, cursor(page[-1]) if more else None


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
    page, next_before = _page(
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


def _commands(rows: Sequence[Any]) -> list[CommandPublic]:
    return [CommandPublic.model_validate(c) for c in rows]


def experiment_overview(
    session: Session, *, experiment_id: int, alive_seconds: float, iterations: int = 50
) -> ExperimentOverview:
    """The experiment page: status, budgets, timeline, skills in training, metrics."""
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
        commands=_commands(list_commands(session, experiment_id=exp.id, limit=10)),
        curves_png=f"/experiments/{exp.id}/curves.png",
    )


def iterations(
    session: Session, *, experiment_id: int, limit: int, before: int | None
) -> Page[IterationPublic]:
    """A page of an experiment's iterations, newest first (cursor: the iteration number)."""
    runs.get_experiment(session, experiment_id=experiment_id)
    page, next_before = _page(
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


def skill_curve(session: Session, *, skill_id: int) -> Curve:
    """A skill's whole evaluation history as one curve."""
    skill = get_skill(session, skill_id=skill_id)
    points = success_series(session, skill_ids=[skill_id], last=1000)[skill_id]
    return Curve(
        label=f"{skill.id}: {skill.instruction}",
        steps=[p.env_steps for p in points],
        rates=[p.success_rate for p in points],
    )


def skill_table(
    session: Session,
    *,
    query: str | None,
    filters: dict[str, Any],
    sort: str | None,
    descending: bool,
    offset: int,
    limit: int,
) -> SkillTable:
    """A page of the library: browsing (any sort) or a search (best first by default)."""
    scores: dict[int, float] | None = None
    if query is not None and query.strip():
        hits = search_ids(
            session,
            query=query,
            limit=SEARCH_WINDOW,
            statuses=[str(s) for s in filters.get("status") or []],
        )
        scores = dict(hits)
    if scores is not None and sort in (None, "relevance"):
        # Rank order: the hits (best first) that pass the filters, paged in Python; only the
        # page's skills are loaded.
        extra = {k: v for k, v in filters.items() if k != "status" and v is not None}
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        if extra:
            keep = matching_ids(session, ids=ranked, **extra)
            ranked = [i for i in ranked if i in keep]
        if descending:
            ranked.reverse()
        total = len(ranked)
        wanted = ranked[offset : offset + limit]
        loaded = load_skills(session, ids=wanted)
        page = [loaded[i] for i in wanted if i in loaded]
    else:
        if sort == "relevance":
            raise SkillError("sorting by relevance needs a search query (q)")
        ids = list(scores) if scores is not None else None
        page, total = skill_page(
            session, sort=sort or "id", descending=descending, offset=offset, limit=limit,
            ids=ids, **filters,
        )  # fmt: skip
    recent = success_series(session, skill_ids=[k.id for k in page], last=SPARK_POINTS)
    rows = [
        SkillRow(
            skill=k,
            recent=[p.success_rate for p in recent[k.id]],
            score=scores.get(k.id) if scores is not None else None,
        )
        for k in page
    ]
    more = offset + len(page) < total
    return SkillTable(
        items=rows, total=total, offset=offset, limit=limit,
        next_offset=offset + len(page) if more else None,
    )  # fmt: skip


def skill(session: Session, *, skill_id: int) -> SkillPage:
    """The skill page: detail, the newest evaluation video, the curve's URL."""
    detail = skill_detail(session, skill_id=skill_id, evaluations=100)
    episode = latest_episode(
        session, skill_id=skill_id, purpose="evaluate", with_video=True
    ) or latest_episode(session, skill_id=skill_id, with_video=True)
    video = None
    if episode is not None and episode.video_sha256 is not None:
        artifact = get_artifact(session, sha256=episode.video_sha256)
        if artifact is not None:
            video = VideoRef(
                episode_id=episode.id, sha256=artifact.sha256, media_type=artifact.media_type,
                url=f"/artifacts/{artifact.sha256}", success=episode.success, steps=episode.steps,
            )  # fmt: skip
    return SkillPage(detail=detail, video=video, curve_png=f"/skills/{skill_id}/curve.png")


def _pending_by_task(session: Session) -> dict[int, str]:
    pending = list_commands(
        session, status=CommandStatus.PENDING.value, kinds=("approve", "reject"), limit=1000
    )
    out: dict[int, str] = {}
    for c in reversed(pending):  # oldest first: the newest command per task wins
        task_id = (c.payload or {}).get("task_id")
        if c.kind in ("approve", "reject") and isinstance(task_id, int):
            out[task_id] = c.kind
    return out


def _tasks(session: Session, tasks: Sequence[Task], pending: dict[int, str]) -> list[TaskPublic]:
    steps = decomposition_steps(session, task_ids=[t.id for t in tasks])
    skill_ids = {s.skill_id for rows in steps.values() for s in rows if s.skill_id is not None}
    known = load_skills(session, ids=sorted(skill_ids))
    out = []
    for t in tasks:
        subtasks = []
        for s in steps.get(t.id, []):
            ref = known.get(s.skill_id) if s.skill_id is not None else None
            subtasks.append(
                StepPublic(
                    position=s.position,
                    instruction=s.instruction,
                    wording=s.wording,
                    skill=SkillRef.model_validate(ref) if ref is not None else None,
                    matched_existing=s.matched_existing,
                    score=s.score,
                )
            )
        out.append(
            TaskPublic(
                id=t.id,
                experiment_id=t.experiment_id,
                iteration_id=t.iteration_id,
                spec=t.spec,
                instruction=t.instruction,
                wording=t.wording,
                proposed_by=t.proposed_by,
                reason=t.reason,
                decision_id=t.decision_id,
                status=t.status,
                verdict=t.verdict,
                created_at=t.created_at,
                steps=subtasks,
                pending_command=pending.get(t.id),
            )
        )
    return out


def tasks(
    session: Session,
    *,
    experiment_id: int | None,
    status: str | None,
    limit: int,
    before_id: int | None,
) -> Page[TaskPublic]:
    """The curriculum: proposals newest first, each with its decomposition."""
    if status is not None and status not in {s.value for s in TaskStatus}:
        allowed = ", ".join(s.value for s in TaskStatus)
        raise SkillError(f"unknown task status {status!r}; allowed: {allowed}")
    page, next_before = _page(
        lambda n, b: list_tasks(
            session, experiment_id=experiment_id, status=status, newest_first=True, limit=n,
            before_id=b,
        ),
        limit=limit, before=before_id, cursor=lambda t: t.id,
    )  # fmt: skip
    return Page(items=_tasks(session, page, _pending_by_task(session)), next_before=next_before)


def decisions(
    session: Session,
    *,
    experiment_id: int | None,
    kind: str | None,
    outcome: str | None,
    limit: int,
    before_id: int | None,
) -> Page[DecisionPublic]:
    """Planner calls newest first, filtered by kind and outcome."""
    page, next_before = _page(
        lambda n, b: list_decisions(
            session, experiment_id=experiment_id, kind=kind, outcome=outcome,
            newest_first=True, limit=n, before_id=b,
        ),
        limit=limit, before=before_id, cursor=lambda d: d.id,
    )  # fmt: skip
    images = images_of(session, decision_ids=[d.id for d in page])
    items = [
        DecisionPublic.model_validate(d).model_copy(update={"images": images[d.id]}) for d in page
    ]
    return Page(items=items, next_before=next_before)


def decision(session: Session, *, decision_id: int) -> DecisionPublic:
    """One planner call in full, with its images."""
    d = get_decision(session, decision_id=decision_id)
    images = images_of(session, decision_ids=[d.id])[d.id]
    return DecisionPublic.model_validate(d).model_copy(update={"images": images})


def decision_kinds(session: Session) -> list[str]:
    """Kinds of planner call recorded (for the filter)."""
    return recorded_kinds(session)


def commands(
    session: Session,
    *,
    experiment_id: int | None,
    status: str | None,
    limit: int,
    before_id: int | None,
) -> Page[CommandPublic]:
    """Commands to the daemons, newest first."""
    if status is not None and status not in {s.value for s in CommandStatus}:
        allowed = ", ".join(s.value for s in CommandStatus)
        raise SkillError(f"unknown command status {status!r}; allowed: {allowed}")
    page, next_before = _page(
        lambda n, b: list_commands(
            session, experiment_id=experiment_id, status=status, limit=n, before_id=b
        ),
        limit=limit, before=before_id, cursor=lambda c: c.id,
    )  # fmt: skip
    return Page(items=_commands(page), next_before=next_before)


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


def review_queue(session: Session, *, alive_seconds: float, limit: int) -> ReviewQueue:
    """Proposals waiting for a person, commands not yet taken, experiments to steer."""
    waiting = list_tasks(session, status=TaskStatus.PROPOSED.value, newest_first=True, limit=limit)
    pending = list_commands(session, status=CommandStatus.PENDING.value, limit=limit)
    return ReviewQueue(
        proposals=_tasks(session, waiting, _pending_by_task(session)),
        pending=_commands(pending),
        experiments=experiments(
            session, limit=limit, before_id=None, alive_seconds=alive_seconds
        ).items,
    )


def artifact(session: Session, *, sha256: str) -> tuple[str, str | None]:
    """The registered media type and name of an artifact; ``LookupError`` if unregistered."""
    row = get_artifact(session, sha256=sha256)
    if row is None:
        raise LookupError(f"no artifact {sha256} is registered")
    return row.media_type, row.name
