"""Changes a person asks for, each queued as a command for the daemon (``storage.commands``).

The dashboard never changes an experiment itself: it checks that the request makes sense
now (the proposal is still waiting, the experiment can still be steered) and queues a
command; the daemon running the experiment claims it exactly once and acts on it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from skills.goals import goal_payload, read_goal
from storage import runs
from storage.commands import enqueue_command, list_commands
from storage.enums import CommandKind, CommandStatus, ExperimentStatus, TaskStatus
from storage.proposals import get_task
from web.schemas import CommandPublic

ACTOR = "dashboard"
"""``created_by`` of the commands queued here."""
ENDED = {
    s.value for s in (ExperimentStatus.FINISHED, ExperimentStatus.FAILED, ExperimentStatus.STOPPED)
}
"""Statuses of an experiment no daemon runs any more."""
_REVIEWS = {CommandKind.APPROVE.value, CommandKind.REJECT.value}


class Conflict(ValueError):
    """The request is well formed but no longer applies (HTTP 409)."""


def _check_steerable(session: Session, experiment_id: int) -> None:
    exp = runs.get_experiment(session, experiment_id=experiment_id)
    if exp.status in ENDED:
        raise Conflict(f"experiment {exp.id} ({exp.name}) is {exp.status}: nothing to steer")


def review_task(session: Session, *, task_id: int, approve: bool, reason: str) -> CommandPublic:
    """Queue the approval or rejection of a waiting proposal, with the person's reason."""
    task = get_task(session, task_id=task_id)
    if task.status != TaskStatus.PROPOSED.value:
        raise Conflict(f"task {task_id} is {task.status} already; only proposed tasks wait")
    if task.experiment_id is not None:
        _check_steerable(session, task.experiment_id)
    pending = list_commands(
        session, status=CommandStatus.PENDING.value, kinds=sorted(_REVIEWS), limit=1000
    )
    for cmd in pending:
        if cmd.kind in _REVIEWS and (cmd.payload or {}).get("task_id") == task_id:
            raise Conflict(f"task {task_id} has a {cmd.kind} queued already (command {cmd.id})")
    reason = reason.strip()
    if not approve and not reason:
        raise ValueError("say why the proposal is rejected: the reason goes to the planner")
    kind = CommandKind.APPROVE if approve else CommandKind.REJECT
    cmd = enqueue_command(
        session,
        kind=kind.value,
        payload={"task_id": task_id, "reason": reason, "actor": ACTOR},
        experiment_id=task.experiment_id,
        created_by=ACTOR,
    )
    return CommandPublic.model_validate(cmd)


def set_goal(session: Session, *, experiment_id: int, goal: str) -> CommandPublic:
    """Queue a new goal (an instruction or spec JSON), read here once: the command carries
    what it was read as, which the daemon acts on."""
    _check_steerable(session, experiment_id)
    cmd = enqueue_command(
        session,
        kind=CommandKind.GOAL.value,
        payload=goal_payload(read_goal(goal)),
        experiment_id=experiment_id,
        created_by=ACTOR,
    )
    return CommandPublic.model_validate(cmd)


def control(session: Session, *, experiment_id: int, kind: str) -> CommandPublic:
    """Queue ``pause``, ``resume`` or ``stop`` for the experiment's daemon."""
    allowed = (CommandKind.PAUSE, CommandKind.RESUME, CommandKind.STOP)
    if kind not in {k.value for k in allowed}:
        raise ValueError(f"unknown control {kind!r}; allowed: pause, resume, stop")
    _check_steerable(session, experiment_id)
    cmd = enqueue_command(session, kind=kind, experiment_id=experiment_id, created_by=ACTOR)
    return CommandPublic.model_validate(cmd)
