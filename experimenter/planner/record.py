"""Every planner call becomes a decisions row; decisions can be exported for replay.

The ``Planner`` hands a ``DecisionRecord`` to a ``Recorder`` after each call, whatever happened
(an answer, an invalid answer, a failure, a cache hit, a refusal by budget). The
``DatabaseRecorder`` writes it with its images (as artifacts) in its own transaction, so a
crash later in the iteration keeps what the planner was asked and what it cost.

The rows are also the ledger of the planner's budgets: ``planner_spend`` sums an
experiment's calls, tokens and dollars from them, so a restarted planner carries on counting
(``Recorder.usage``) and ``experimenter status`` shows the dollars of a call as soon as it is
recorded, not at the end of the iteration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from experimenter.planner.budget import Spend
from experimenter.planner.inputs import Image
from storage import Database, artifacts, decisions
from storage.models import Decision, Experiment

REPLAY_FORMAT = "experimenter-decisions"

LOCAL_BACKENDS = ("offline", "replay")
"""Backends whose rows are not calls to a model: they count against no budget."""
NOT_SENT = "not sent: "
"""How the error of a call refused by a budget starts (no request went out)."""
_OLD_REFUSAL = "planner % budget spent:%"
"""Refusals recorded before ``NOT_SENT`` existed."""


@dataclass(frozen=True)
class DecisionRecord:
    """One call, as the decisions table stores it."""

    kind: str
    backend: str
    model: str
    prompt: str
    images: tuple[Image, ...] = ()
    response: str | None = None
    parsed: dict[str, Any] | None = None
    valid: bool = False
    error: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    dollars: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False


def is_call(d: DecisionRecord) -> bool:
    """Whether a decision is a request that went out to a remote backend (counted as a call;
    its tokens and dollars are counted whatever it is)."""
    return (
        d.backend not in LOCAL_BACKENDS
        and not d.cache_hit
        and not (d.error or "").startswith(NOT_SENT)
    )


def planner_spend(session: Session, *, experiment_id: int) -> Spend:
    """Calls, tokens and dollars of an experiment's planner calls, from its decisions rows."""
    remote = Decision.backend.not_in(LOCAL_BACKENDS)
    sent = (
        remote
        & Decision.cache_hit.is_(False)
        & or_(
            Decision.error.is_(None),
            ~Decision.error.startswith(NOT_SENT, autoescape=True)
            & ~Decision.error.like(_OLD_REFUSAL),
        )
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(case((sent, 1), else_=0)), 0),
            func.coalesce(func.sum(Decision.tokens_in + Decision.tokens_out), 0),
            func.coalesce(func.sum(Decision.dollars), 0.0),
        ).where(Decision.experiment_id == experiment_id, remote)
    ).one()
    return Spend(calls=int(row[0]), tokens=int(row[1]), dollars=float(row[2]))


class Recorder(Protocol):
    def record(self, decision: DecisionRecord) -> int | None:
        """Store ``decision``; its id if it has one."""
        ...

    # A recorder may also have ``usage() -> Spend``: what earlier planners recorded through
    # it, which a new planner starts its budget from.


@dataclass
class MemoryRecorder:
    """Keeps decisions in a list (a planner without a database: the CLI's one-off question)."""

    decisions: list[DecisionRecord] = field(default_factory=list)

    def record(self, decision: DecisionRecord) -> int | None:
        self.decisions.append(decision)
        return len(self.decisions)

    def usage(self) -> Spend:
        remote = [d for d in self.decisions if d.backend not in LOCAL_BACKENDS]
        return Spend(
            calls=sum(is_call(d) for d in remote),
            tokens=sum(d.tokens_in + d.tokens_out for d in remote),
            dollars=sum(d.dollars for d in remote),
        )


@dataclass
class DatabaseRecorder:
    """Writes each decision, and its images as artifacts, in a transaction of its own."""

    db: Database
    experiment_id: int | None = None
    iteration_id: int | None = None
    on_recorded: Callable[[DecisionRecord], None] | None = None
    """Called once a decision's transaction committed (the daemon's TensorBoard events)."""

    def record(self, decision: DecisionRecord) -> int | None:
        row_id = self._write(decision)
        if self.on_recorded is not None:
            self.on_recorded(decision)
        return row_id

    def _write(self, decision: DecisionRecord) -> int | None:
        with self.db.session() as s:
            shas = []
            if self.db.artifacts is not None:
                for im in decision.images:
                    artifact = artifacts.save_artifact(
                        s,
                        store=self.db.artifacts,
                        data=im.png,
                        media_type="image/png",
                        name=im.name,
                    )
                    shas.append(artifact.sha256)
            row = decisions.record_decision(
                s,
                kind=decision.kind,
                backend=decision.backend,
                model=decision.model,
                prompt=decision.prompt,
                response=decision.response,
                parsed=decision.parsed,
                valid=decision.valid,
                error=decision.error,
                tokens_in=decision.tokens_in,
                tokens_out=decision.tokens_out,
                dollars=decision.dollars,
                latency_s=decision.latency_s,
                cache_hit=decision.cache_hit,
                images=shas,
                experiment_id=self.experiment_id,
                iteration_id=self.iteration_id,
            )
            if decision.dollars > 0 and self.experiment_id is not None:
                # The experiment's dollars as soon as they are spent, for the status and
                # the dashboard (the loop writes its own total at iteration boundaries).
                total = planner_spend(s, experiment_id=self.experiment_id).dollars
                s.execute(
                    update(Experiment)
                    .where(Experiment.id == self.experiment_id, Experiment.dollars_used < total)
                    .values(dollars_used=total)
                )
            return row.id

    def usage(self) -> Spend:
        """What this experiment's planner calls used so far (nothing without an experiment)."""
        if self.experiment_id is None:
            return Spend()
        with self.db.reader() as s:
            return planner_spend(s, experiment_id=self.experiment_id)


class RecordedAnswer(BaseModel):
    """One line of a decisions file: an answer the replay backend can give again."""

    kind: str
    prompt_sha256: str
    response: str
    backend: str = ""
    model: str = ""
    decision_id: int | None = None


def prompt_digest(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def export_decisions(db: Database, *, experiment_id: int | None = None) -> list[RecordedAnswer]:
    """The valid answers of an experiment (or of all), oldest first, for the replay backend."""
    out: list[RecordedAnswer] = []
    after: int | None = None
    with db.reader() as s:
        while True:
            page = decisions.list_decisions(
                s, experiment_id=experiment_id, outcome="valid", after_id=after, limit=1000
            )
            for d in page:
                if d.response is not None:
                    out.append(
                        RecordedAnswer(
                            kind=d.kind, prompt_sha256=prompt_digest(d.prompt), response=d.response,
                            backend=d.backend, model=d.model, decision_id=d.id,
                        )
                    )  # fmt: skip
            if len(page) < 1000:
                return out
            after = page[-1].id


def write_decisions_file(path: Path, answers: Sequence[RecordedAnswer]) -> None:
    """JSON lines: a header, then one answer per line."""
    lines = [json.dumps({"format": REPLAY_FORMAT, "version": 1})]
    lines += [a.model_dump_json() for a in answers]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_decisions_file(path: Path) -> list[RecordedAnswer]:
    """The answers of a file written by ``write_decisions_file``."""
    text = Path(path).read_text(encoding="utf-8").splitlines()
    if not text or json.loads(text[0]).get("format") != REPLAY_FORMAT:
        raise ValueError(
            f"{path} is not a decisions file (its first line must be the "
            f'{{"format": "{REPLAY_FORMAT}"}} header); write one with write_decisions_file'
        )
    return [RecordedAnswer.model_validate_json(line) for line in text[1:] if line.strip()]
