"""The command queue: what people asked the daemons (approve, reject, goal, pause, resume,
stop), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from skills.errors import SkillError
from storage.commands import list_commands
from storage.enums import CommandStatus
from web.schemas import CommandPublic, Page
from web.views.paging import keyset_page


def public_commands(rows: Sequence[Any]) -> list[CommandPublic]:
    """Command rows as the pages and the API show them."""
    return [CommandPublic.model_validate(c) for c in rows]


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
    page, next_before = keyset_page(
        lambda n, b: list_commands(
            session, experiment_id=experiment_id, status=status, limit=n, before_id=b
        ),
        limit=limit, before=before_id, cursor=lambda c: c.id,
    )  # fmt: skip
    return Page(items=public_commands(page), next_before=next_before)
