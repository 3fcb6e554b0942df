"""The pages (server-rendered HTML): experiments, library, curriculum, decisions, review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from skills.browse import PREDICATE_NAMES
from storage.decisions import OUTCOMES
from storage.enums import SkillKind, SkillStatus, TaskStatus
from web import views
from web.deps import (
    Before,
    DecisionId,
    ExperimentFilter,
    ExperimentId,
    Limit,
    Reader,
    Settings,
    SkillId,
    Word,
)
from web.routes.params import Library
from web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = {
    "approve": "Approval queued: the daemon picks it up at its next check.",
    "reject": "Rejection queued, with your reason for the planner.",
    "goal": "New goal queued.",
    "pause": "Pause queued.",
    "resume": "Resume queued.",
    "stop": "Stop queued: the daemon checkpoints and exits.",
    "signin": "Signed in: you can approve, reject and steer.",
    "signout": "Signed out.",
}


def _flash(done: str | None) -> str | None:
    return FLASH.get(done or "")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/experiments", status_code=303)


@router.get("/experiments")
def experiments_page(
    request: Request, s: Reader, settings: Settings, before: Before = None, limit: Limit = None
) -> Response:
    page = views.experiments(
        s,
        limit=limit or settings.page_size,
        before_id=before,
        alive_seconds=settings.alive_seconds,
    )
    return render(request, "experiments.html", title="Experiments", page=page)


@router.get("/experiments/rows")
def experiment_rows(
    request: Request, s: Reader, settings: Settings, before: Before = None, limit: Limit = None
) -> Response:
    """The experiments table's rows alone: what the page polls for live updates."""
    page = views.experiments(
        s,
        limit=limit or settings.page_size,
        before_id=before,
        alive_seconds=settings.alive_seconds,
    )
    return render(request, "_experiment_rows.html", page=page)


@router.get("/experiments/{experiment_id}")
def experiment_page(
    request: Request,
    experiment_id: ExperimentId,
    s: Reader,
    settings: Settings,
    done: Word = None,
) -> Response:
    overview = views.experiment_overview(
        s, experiment_id=experiment_id, alive_seconds=settings.alive_seconds
    )
    return render(
        request,
        "experiment.html",
        title=overview.experiment.name,
        o=overview,
        flash=_flash(done),
    )


@router.get("/experiments/{experiment_id}/status")
def experiment_status(
    request: Request, experiment_id: ExperimentId, s: Reader, settings: Settings
) -> Response:
    """The experiment page's status panel alone (polled for live updates)."""
    overview = views.experiment_overview(
        s, experiment_id=experiment_id, alive_seconds=settings.alive_seconds, iterations=1
    )
    return render(request, "_experiment_status.html", o=overview)


@router.get("/skills")
def library_page(request: Request, s: Reader, settings: Settings, query: Library) -> Response:
    table = views.skill_table(
        s,
        query=query.q,
        filters=query.filters,
        sort=query.sort,
        descending=query.descending,
        offset=query.offset,
        limit=query.limit or settings.page_size,
    )
    return render(
        request,
        "skills.html",
        title="Skill library",
        table=table,
        query=query,
        statuses=[x.value for x in SkillStatus],
        kinds=[x.value for x in SkillKind],
        predicates=PREDICATE_NAMES,
    )


@router.get("/skills/{skill_id}")
def skill_page(request: Request, skill_id: SkillId, s: Reader) -> Response:
    page = views.skill(s, skill_id=skill_id)
    return render(request, "skill.html", title=page.detail.skill.instruction, p=page)


@router.get("/curriculum")
def curriculum_page(
    request: Request,
    s: Reader,
    settings: Settings,
    experiment: ExperimentFilter = None,
    status: Word = None,
    before: Before = None,
    limit: Limit = None,
) -> Response:
    page = views.tasks(
        s,
        experiment_id=experiment,
        status=status or None,
        limit=limit or settings.page_size,
        before_id=before,
    )
    return render(
        request,
        "curriculum.html",
        title="Curriculum",
        page=page,
        experiment=experiment,
        status=status or "",
        statuses=[x.value for x in TaskStatus],
    )


@router.get("/decisions")
def decisions_page(
    request: Request,
    s: Reader,
    settings: Settings,
    experiment: ExperimentFilter = None,
    kind: Word = None,
    outcome: Word = None,
    before: Before = None,
    limit: Limit = None,
) -> Response:
    page = views.decisions(
        s,
        experiment_id=experiment,
        kind=kind or None,
        outcome=outcome or None,
        limit=limit or settings.page_size,
        before_id=before,
    )
    return render(
        request,
        "decisions.html",
        title="Decisions",
        page=page,
        kinds=views.decision_kinds(s),
        outcomes=OUTCOMES,
        kind=kind or "",
        outcome=outcome or "",
        experiment=experiment,
    )


@router.get("/decisions/{decision_id}")
def decision_page(request: Request, decision_id: DecisionId, s: Reader) -> Response:
    d = views.decision(s, decision_id=decision_id)
    return render(request, "decision.html", title=f"Decision {d.id}", d=d)


@router.get("/review")
def review_page(
    request: Request,
    s: Reader,
    settings: Settings,
    done: Word = None,
    error: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    queue = views.review_queue(s, alive_seconds=settings.alive_seconds, limit=100)
    return render(request, "review.html", title="Review", q=queue, flash=_flash(done), error=error)


@router.get("/login")
def login_page(
    request: Request, next: Annotated[str, Query(max_length=300)] = "/review"
) -> Response:
    return render(request, "login.html", title="Sign in", next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    """Only a path on this site (never ``//evil`` or a full URL) is a place to return to."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"
