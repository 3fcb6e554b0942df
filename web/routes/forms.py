"""What the pages' forms post: sign in and out, review proposals, steer experiments.

Every post is checked by ``Guard.check_form`` (same origin, signed in, CSRF token) before
anything is read, then queues a command and redirects back (post / redirect / get).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from web import actions
from web.deps import ExperimentId, GuardDep, TaskId, Writer
from web.routes.pages import _safe_next
from web.security import COOKIE, check_same_origin
from web.templating import render

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str | None, Form(max_length=200)]
Reason = Annotated[str, Form(max_length=2000)]


def _back(target: str, done: str) -> RedirectResponse:
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done={quote(done)}", status_code=303)


@router.post("/login")
def login(
    request: Request,
    guard: GuardDep,
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=300)] = "/review",
) -> Response:
    check_same_origin(request)
    target = _safe_next(next)
    if not guard.token_ok(token):
        return render(
            request,
            "login.html",
            status_code=401,
            title="Sign in",
            next=target,
            error="That is not the dashboard's token (EXPERIMENTER_TOKEN, printed by "
            "`experimenter serve`).",
        )
    response = _back(target, "signin")
    response.set_cookie(
        COOKIE, guard.cookie_value, httponly=True, samesite="strict", max_age=30 * 86400
    )
    return response


@router.post("/logout")
def logout(request: Request, guard: GuardDep, csrf: Csrf = None) -> Response:
    guard.check_form(request, csrf)
    response = _back("/experiments", "signout")
    response.delete_cookie(COOKIE)
    return response


@router.post("/review/tasks/{task_id}/approve")
def approve(
    request: Request, task_id: TaskId, guard: GuardDep, s: Writer, csrf: Csrf = None,
    reason: Reason = "",
) -> Response:  # fmt: skip
    guard.check_form(request, csrf)
    actions.review_task(s, task_id=task_id, approve=True, reason=reason)
    return _back("/review", "approve")


@router.post("/review/tasks/{task_id}/reject")
def reject(
    request: Request, task_id: TaskId, guard: GuardDep, s: Writer, csrf: Csrf = None,
    reason: Reason = "",
) -> Response:  # fmt: skip
    guard.check_form(request, csrf)
    actions.review_task(s, task_id=task_id, approve=False, reason=reason)
    return _back("/review", "reject")


@router.post("/review/experiments/{experiment_id}/goal")
def goal(
    request: Request, experiment_id: ExperimentId, guard: GuardDep, s: Writer,
    csrf: Csrf = None, goal: Annotated[str, Form(max_length=4000)] = "",
    next: Annotated[str, Form(max_length=300)] = "/review",
) -> Response:  # fmt: skip
    guard.check_form(request, csrf)
    actions.set_goal(s, experiment_id=experiment_id, goal=goal)
    return _back(_safe_next(next), "goal")


@router.post("/review/experiments/{experiment_id}/{kind}")
def control(
    request: Request, experiment_id: ExperimentId, kind: str, guard: GuardDep, s: Writer,
    csrf: Csrf = None, next: Annotated[str, Form(max_length=300)] = "/review",
) -> Response:  # fmt: skip
    guard.check_form(request, csrf)
    actions.control(s, experiment_id=experiment_id, kind=kind)
    return _back(_safe_next(next), kind)
