"""Proposals: the curriculum (tasks and their decompositions), the approvals and rejections
still pending for each, and the review queue a person works through."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from skills.errors import SkillError
from skills.schemas import SkillRef
from skills.search import load_skills
from storage.commands import list_commands
from storage.enums import CommandStatus, TaskStatus
from storage.models import Task
from storage.proposals import decomposition_steps, list_tasks
from web.schemas import Page, ReviewQueue, StepPublic, TaskPublic
from web.views.command_queue import public_commands
from web.views.paging import keyset_page
from web.views.runs import experiments


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
    page, next_before = keyset_page(
        lambda n, b: list_tasks(
            session, experiment_id=experiment_id, status=status, newest_first=True, limit=n,
            before_id=b,
        ),
        limit=limit, before=before_id, cursor=lambda t: t.id,
    )  # fmt: skip
    return Page(items=_tasks(session, page, _pending_by_task(session)), next_before=next_before)


def review_queue(session: Session, *, alive_seconds: float, limit: int) -> ReviewQueue:
    """Proposals waiting for a person, commands not yet taken, experiments to steer."""
    waiting = list_tasks(session, status=TaskStatus.PROPOSED.value, newest_first=True, limit=limit)
    pending = list_commands(session, status=CommandStatus.PENDING.value, limit=limit)
    return ReviewQueue(
        proposals=_tasks(session, waiting, _pending_by_task(session)),
        pending=public_commands(pending),
        experiments=experiments(
            session, limit=limit, before_id=None, alive_seconds=alive_seconds
        ).items,
    )
