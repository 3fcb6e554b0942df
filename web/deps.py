"""Dependencies of the routes, as ``Annotated`` aliases: sessions, settings, the guard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import BeforeValidator, Field
from sqlalchemy.orm import Session

from storage import ArtifactStore, Database
from web.config import WebSettings
from web.security import Guard

MAX_ID = 2**62
"""Ids beyond this are refused before they reach the database (64-bit integers)."""


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def get_guard(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def get_store(request: Request) -> ArtifactStore | None:
    store: ArtifactStore | None = request.app.state.db.artifacts
    return store


def reader(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    """A read transaction for the request."""
    with db.reader() as s:
        yield s


def writer(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    """A write transaction, committed when the route returns."""
    with db.session() as s:
        yield s


Reader = Annotated[Session, Depends(reader, scope="function")]
Writer = Annotated[Session, Depends(writer, scope="function")]
"""Committed before the response is sent: the page a redirect leads to sees the change."""
Settings = Annotated[WebSettings, Depends(get_settings)]
GuardDep = Annotated[Guard, Depends(get_guard)]
Store = Annotated[ArtifactStore | None, Depends(get_store)]

ExperimentId = Annotated[int, Path(ge=1, le=MAX_ID, description="Experiment id.")]
SkillId = Annotated[int, Path(ge=1, le=MAX_ID, description="Skill id.")]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="Task (proposal) id.")]
DecisionId = Annotated[int, Path(ge=1, le=MAX_ID, description="Decision id.")]
Blank = BeforeValidator(lambda v: None if v == "" else v)
"""An empty form field (``?experiment=``) means "not given", as people expect of a form."""
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
Before = Annotated[
    IdValue | None, Blank, Query(description="Cursor: next_before of the previous page.")
]
Limit = Annotated[
    Annotated[int, Field(ge=1, le=1000)] | None, Blank, Query(description="Rows per page.")
]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip.")]
ExperimentFilter = Annotated[IdValue | None, Blank, Query(description="Only this experiment.")]
Word = Annotated[
    Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] | None,
    Blank,
    Query(description="A kind, a status or an outcome."),
]
"""A short identifier-like filter value (a kind, a status, an outcome)."""
