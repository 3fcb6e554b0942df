"""Planner decisions: every call the planner made, with the images it showed.

Keyword-only functions inside the caller's transaction. The planner records each call
(``experimenter.planner.record``); the replay backend reads the valid answers back oldest
first, and the dashboard reads the log newest first, filtered by outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Decision, DecisionImage
from storage.pages import check_limit

OUTCOMES = ("valid", "invalid", "error", "cached")
"""Outcome filters of ``list_decisions``: a valid answer; an answer that failed the checks
(no error recorded); a failed call (error recorded); an answer from the cache."""


def record_decision(
    session: Session,
    *,
    kind: str,
    backend: str,
    prompt: str,
    model: str = "",
    response: str | None = None,
    parsed: Mapping[str, Any] | None = None,
    valid: bool = False,
    error: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    dollars: float = 0.0,
    latency_s: float = 0.0,
    cache_hit: bool = False,
    images: Sequence[str] = (),
    experiment_id: int | None = None,
    iteration_id: int | None = None,
) -> Decision:
    """One planner call; ``images`` are the sha256 of registered artifacts, in prompt order."""
    decision = Decision(
        kind=kind, backend=backend, model=model, prompt=prompt, response=response,
        parsed=dict(parsed) if parsed is not None else None, valid=valid, error=error,
        tokens_in=tokens_in, tokens_out=tokens_out, dollars=dollars, latency_s=latency_s,
        cache_hit=cache_hit, experiment_id=experiment_id, iteration_id=iteration_id,
    )  # fmt: skip
    session.add(decision)
    session.flush()
    session.add_all(
        DecisionImage(decision_id=decision.id, position=i, artifact_sha256=sha)
        for i, sha in enumerate(images)
    )
    session.flush()
    return decision


def get_decision(session: Session, *, decision_id: int) -> Decision:
    """Decision ``decision_id``; ``LookupError`` if there is none."""
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise LookupError(f"no decision with id {decision_id}")
    return decision


def list_decisions(
    session: Session,
    *,
    experiment_id: int | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    newest_first: bool = False,
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int = 1000,
) -> list[Decision]:
    """Planner decisions matching every filter (``outcome`` one of ``OUTCOMES``), oldest
    first (newest first with ``newest_first``), at most ``limit`` with ids between
    ``after_id`` and ``before_id``: the replay backend's source and the dashboard's log."""
    check_limit(limit, most=None)
    query = select(Decision)
    if experiment_id is not None:
        query = query.where(Decision.experiment_id == experiment_id)
    if kind is not None:
        query = query.where(Decision.kind == kind)
    if outcome == "valid":
        query = query.where(Decision.valid.is_(True))
    elif outcome == "invalid":
        query = query.where(Decision.valid.is_(False), Decision.error.is_(None))
    elif outcome == "error":
        query = query.where(Decision.error.is_not(None))
    elif outcome == "cached":
        query = query.where(Decision.cache_hit.is_(True))
    elif outcome is not None:
        raise ValueError(f"unknown outcome {outcome!r}; allowed: {', '.join(OUTCOMES)}")
    if after_id is not None:
        query = query.where(Decision.id > after_id)
    if before_id is not None:
        query = query.where(Decision.id < before_id)
    order = Decision.id.desc() if newest_first else Decision.id
    return list(session.scalars(query.order_by(order).limit(limit)))


def images_of(session: Session, *, decision_ids: Sequence[int]) -> dict[int, list[str]]:
    """The sha256 of the images shown in each decision, in prompt order (every id present)."""
    out: dict[int, list[str]] = {d: [] for d in decision_ids}
    if not decision_ids:
        return out
    rows = session.execute(
        select(DecisionImage.decision_id, DecisionImage.artifact_sha256)
        .where(DecisionImage.decision_id.in_(list(decision_ids)))
        .order_by(DecisionImage.decision_id, DecisionImage.position)
    )
    for did, sha in rows:
        out[int(did)].append(sha)
    return out


def decision_kinds(session: Session) -> list[str]:
    """The kinds of decision recorded so far (analyze, propose, ...), sorted."""
    return sorted(session.scalars(select(Decision.kind).distinct()))
