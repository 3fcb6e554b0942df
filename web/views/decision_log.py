"""The decision log: every planner call, newest first, one in full, the kinds recorded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.decisions import decision_kinds as recorded_kinds
from storage.decisions import get_decision, images_of, list_decisions
from web.schemas import DecisionPublic, Page
from web.views.paging import keyset_page


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
    page, next_before = keyset_page(
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
