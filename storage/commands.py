"""The command queue from the dashboard or the CLI to a daemon; each command runs once.

A daemon claims the oldest pending command with a conditional update (``status =
'pending'`` in the WHERE clause). Of two daemons racing for one command only one update
matches a row: SQLite serialises writers, and PostgreSQL re-checks the condition after the
first updater commits. The dashboard lists them newest first, a page at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.enums import CommandStatus
from storage.models import Command
from storage.pages import check_limit
from storage.types import utcnow

CLAIM_ATTEMPTS = 10
"""Pending commands tried per claim before giving up (others may take them meanwhile)."""


def enqueue_command(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any] | None = None,
    experiment_id: int | None = None,
    created_by: str = "cli",
) -> Command:
    """Queue a command for the daemon; visible to it once the session commits."""
    cmd = Command(
        kind=kind, payload=payload or {}, experiment_id=experiment_id, created_by=created_by
    )
    session.add(cmd)
    session.flush()
    return cmd


def claim_command(
    session: Session,
    *,
    claimed_by: str,
    experiment_id: int | None = None,
    kinds: Sequence[str] | None = None,
) -> Command | None:
    """The oldest pending command (of ``experiment_id`` and ``kinds`` if given), now marked
    claimed by ``claimed_by``; ``None`` when there is none. Commit to make the claim stick."""
    for _ in range(CLAIM_ATTEMPTS):
        query = select(Command.id).where(Command.status == CommandStatus.PENDING.value)
        if experiment_id is not None:
            query = query.where(Command.experiment_id == experiment_id)
        if kinds is not None:
            query = query.where(Command.kind.in_(list(kinds)))
        command_id = session.scalar(query.order_by(Command.id).limit(1))
        if command_id is None:
            return None
        result = session.execute(
            update(Command)
            .where(Command.id == command_id, Command.status == CommandStatus.PENDING.value)
            .values(status=CommandStatus.CLAIMED.value, claimed_by=claimed_by, claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount == 1:
            return session.get(Command, command_id, populate_existing=True)
    return None


def finish_command(
    session: Session,
    *,
    command_id: int,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> Command:
    """Mark a claimed command done (or failed, when ``error`` is given)."""
    cmd = session.get(Command, command_id)
    if cmd is None:
        raise LookupError(f"no command with id {command_id}")
    if cmd.status != CommandStatus.CLAIMED.value:
        raise ValueError(f"command {command_id} is {cmd.status}, not claimed: claim it first")
    cmd.status = (CommandStatus.FAILED if error else CommandStatus.DONE).value
    cmd.result, cmd.error, cmd.finished_at = result, error, utcnow()
    session.flush()
    return cmd


def list_commands(
    session: Session,
    *,
    experiment_id: int | None = None,
    status: str | None = None,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Command]:
    """Commands newest first (of one experiment, status and kinds if given)."""
    check_limit(limit)
    query = select(Command)
    if experiment_id is not None:
        query = query.where(Command.experiment_id == experiment_id)
    if status is not None:
        query = query.where(Command.status == status)
    if kinds is not None:
        query = query.where(Command.kind.in_(list(kinds)))
    if before_id is not None:
        query = query.where(Command.id < before_id)
    return list(session.scalars(query.order_by(Command.id.desc()).limit(limit)))
