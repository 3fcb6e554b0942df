"""The JSON API: everything the pages show, under ``/api``, paged; changes need the token.

Lists are newest first with a cursor (``before=next_before``), except the library table,
which is sortable and paged by ``offset``. Changes (``POST``) need the token in a header
(``Authorization: Bearer <token>``) and answer ``202`` with the queued command.

Every error is ``{"detail": "one line"}`` (``ErrorOut``), and each route declares the
statuses it can answer with in the OpenAPI document (``responses=``), 422 included.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from skills.schemas import SearchHit
from skills.search import search_skills
from web import actions, views
from web.deps import (
    Before,
    DecisionId,
    ExperimentFilter,
    ExperimentId,
    GuardDep,
    Limit,
    Reader,
    Settings,
    SkillId,
    TaskId,
    Word,
    Writer,
)
from web.routes.params import Library
from web.schemas import (
    CommandPublic,
    ControlIn,
    DecisionPublic,
    ErrorOut,
    ExperimentOverview,
    ExperimentSummary,
    GoalIn,
    IterationPublic,
    MetricSeries,
    Page,
    ReasonIn,
    ReviewQueue,
    SkillPage,
    SkillTable,
    TaskPublic,
)


def _token(request: Request, guard: GuardDep) -> None:
    guard.check_api(request)


router = APIRouter(prefix="/api", tags=["api"])
Authorized = [Depends(_token)]

ERRORS = {
    400: "Bad input that passed validation but cannot be served (an unknown status or kind, "
    "a relevance sort without a query, a blank reason for a rejection, a goal the arena does "
    "not know).",
    401: "The change needs the token: 'Authorization: Bearer <token>'.",
    403: "The token is wrong.",
    404: "No such experiment, skill, task or decision.",
    409: "The change no longer applies (the task was decided, a decision is queued already, "
    "the experiment has ended).",
    422: "A parameter or body field is malformed: detail names it, says what it must be and "
    "what was given.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer with ``codes`` (bodies: ``ErrorOut``)."""
    return {code: {"model": ErrorOut, "description": ERRORS[code]} for code in codes}


LIST = errors(400, 422)
ONE = errors(404, 422)
CHANGE = errors(401, 403, 404, 409, 422)


@router.get("/experiments", summary="Experiments, newest first", responses=errors(422))
def list_experiments(
    s: Reader, settings: Settings, before: Before = None, limit: Limit = None
) -> Page[ExperimentSummary]:
    return views.experiments(
        s, limit=limit or settings.page_size, before_id=before, alive_seconds=settings.alive_seconds
    )


@router.get(
    "/experiments/{experiment_id}",
    summary="One experiment: status, budgets, timeline",
    responses=ONE,
)
def get_experiment(
    experiment_id: ExperimentId, s: Reader, settings: Settings
) -> ExperimentOverview:
    return views.experiment_overview(
        s, experiment_id=experiment_id, alive_seconds=settings.alive_seconds
    )


@router.get(
    "/experiments/{experiment_id}/iterations",
    summary="Iterations, newest first",
    responses=ONE,
)
def list_iterations(
    experiment_id: ExperimentId,
    s: Reader,
    settings: Settings,
    before: Annotated[int | None, Query(ge=1, le=2**31, description="Iteration number.")] = None,
    limit: Limit = None,
) -> Page[IterationPublic]:
    return views.iterations(
        s, experiment_id=experiment_id, limit=limit or settings.page_size, before=before
    )


@router.get(
    "/experiments/{experiment_id}/metrics",
    summary="Metric series and newest values",
    responses=ONE,
)
def list_metrics(experiment_id: ExperimentId, s: Reader, settings: Settings) -> list[MetricSeries]:
    return views.experiment_overview(
        s, experiment_id=experiment_id, alive_seconds=settings.alive_seconds, iterations=1
    ).metrics


@router.get(
    "/experiments/{experiment_id}/metrics/{name}",
    summary="Points of a metric series",
    responses=ONE,
)
def metric_points(
    experiment_id: ExperimentId,
    name: Annotated[str, Path(max_length=100, pattern=r"^[\w.:-]+$")],
    s: Reader,
    after_step: Annotated[int | None, Query(ge=-(2**62), le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[tuple[int, float]]:
    """``[step, value]`` pairs in step order; the next page: ``after_step`` = the last step."""
    return views.metric_series(
        s, experiment_id=experiment_id, name=name, after_step=after_step, limit=limit
    )


@router.get("/skills", summary="The library table: search, filter, sort, page", responses=LIST)
def list_skills(s: Reader, settings: Settings, query: Library) -> SkillTable:
    return views.skill_table(
        s,
        query=query.q,
        filters=query.filters,
        sort=query.sort,
        descending=query.descending,
        offset=query.offset,
        limit=query.limit or settings.page_size,
    )


@router.get(
    "/skills/search", summary="Full-text search, as `experimenter skills search`", responses=LIST
)
def search(
    s: Reader,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words to look for.")],
    status: Annotated[list[str], Query(description="Statuses (repeatable).")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[SearchHit]:
    return search_skills(s, query=q, status=status or None, limit=limit)


@router.get(
    "/skills/{skill_id}",
    summary="One skill: spec, history, evaluations, lineage",
    responses=ONE,
)
def get_skill(skill_id: SkillId, s: Reader) -> SkillPage:
    return views.skill(s, skill_id=skill_id)


@router.get(
    "/tasks",
    summary="The curriculum: proposals and decompositions, newest first",
    responses=LIST,
)
def list_tasks(
    s: Reader,
    settings: Settings,
    experiment: ExperimentFilter = None,
    status: Word = None,
    before: Before = None,
    limit: Limit = None,
) -> Page[TaskPublic]:
    return views.tasks(
        s,
        experiment_id=experiment,
        status=status or None,
        limit=limit or settings.page_size,
        before_id=before,
    )


@router.get(
    "/decisions",
    summary="Planner calls, newest first; filter by kind and outcome",
    responses=errors(422),
)
def list_decisions(
    s: Reader,
    settings: Settings,
    experiment: ExperimentFilter = None,
    kind: Word = None,
    outcome: Annotated[
        str | None, Query(pattern=r"^(valid|invalid|error|cached)?$", description="Outcome.")
    ] = None,
    before: Before = None,
    limit: Limit = None,
) -> Page[DecisionPublic]:
    return views.decisions(
        s,
        experiment_id=experiment,
        kind=kind or None,
        outcome=outcome or None,
        limit=limit or settings.page_size,
        before_id=before,
    )


@router.get("/decisions/{decision_id}", summary="One planner call in full", responses=ONE)
def get_decision(decision_id: DecisionId, s: Reader) -> DecisionPublic:
    return views.decision(s, decision_id=decision_id)


@router.get("/review", summary="Proposals waiting for a person and pending commands")
def review(s: Reader, settings: Settings) -> ReviewQueue:
    return views.review_queue(s, alive_seconds=settings.alive_seconds, limit=100)


@router.get("/commands", summary="Commands to the daemons, newest first", responses=LIST)
def list_commands(
    s: Reader,
    settings: Settings,
    experiment: ExperimentFilter = None,
    status: Word = None,
    before: Before = None,
    limit: Limit = None,
) -> Page[CommandPublic]:
    return views.commands(
        s,
        experiment_id=experiment,
        status=status or None,
        limit=limit or settings.page_size,
        before_id=before,
    )


@router.post(
    "/tasks/{task_id}/approve",
    status_code=202,
    dependencies=Authorized,
    responses=CHANGE,
    summary="Approve a waiting proposal (queues a command)",
)
def approve(task_id: TaskId, body: ReasonIn, s: Writer) -> CommandPublic:
    return actions.review_task(s, task_id=task_id, approve=True, reason=body.reason)


@router.post(
    "/tasks/{task_id}/reject",
    status_code=202,
    dependencies=Authorized,
    responses=CHANGE | errors(400),
    summary="Reject a waiting proposal, with the reason (queues a command)",
)
def reject(task_id: TaskId, body: ReasonIn, s: Writer) -> CommandPublic:
    return actions.review_task(s, task_id=task_id, approve=False, reason=body.reason)


@router.post(
    "/experiments/{experiment_id}/goal",
    status_code=202,
    dependencies=Authorized,
    responses=CHANGE | errors(400),
    summary="Set a goal: an instruction or a spec as JSON (queues a command)",
)
def goal(experiment_id: ExperimentId, body: GoalIn, s: Writer) -> CommandPublic:
    return actions.set_goal(s, experiment_id=experiment_id, goal=body.goal)


@router.post(
    "/experiments/{experiment_id}/control",
    status_code=202,
    dependencies=Authorized,
    responses=CHANGE,
    summary="Pause, resume or stop the experiment's daemon (queues a command)",
)
def control(experiment_id: ExperimentId, body: ControlIn, s: Writer) -> CommandPublic:
    return actions.control(s, experiment_id=experiment_id, kind=body.kind)
