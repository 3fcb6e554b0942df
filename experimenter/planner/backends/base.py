"""The one interface every planner backend implements: a request in, raw JSON and usage out.

A backend only talks to its model. Parsing into the answer schema, retries, the repair
re-ask, budgets, caching, fallback and recording are the armour's (``planner.armour``), so
that they are the same for every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from experimenter.planner.inputs import Image
from experimenter.planner.schemas import QuestionKind


@dataclass(frozen=True)
class Request:
    """One question as sent to a backend."""

    kind: QuestionKind
    prompt: str
    schema: dict[str, Any]
    """The answer's JSON Schema (Gemini-compatible), for structured output."""
    images: tuple[Image, ...] = ()
    inputs: BaseModel | None = None
    """The typed question behind the prompt; only the offline backend reads it."""
    repair_of: str | None = None
    """For a repair re-ask: the invalid answer being corrected."""


@dataclass(frozen=True)
class Usage:
    """Tokens as the backend reported them (0 when it reports none)."""

    tokens_in: int = 0
    tokens_out: int = 0
    """Output tokens, thinking included (billed alike)."""


@dataclass(frozen=True)
class Reply:
    """The raw answer: JSON text, its usage, and which model produced it."""

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""


class BackendError(RuntimeError):
    """A call that produced no answer."""


class TransientError(BackendError):
    """Worth retrying after a pause: rate limits (429), server errors (5xx), timeouts and
    dropped connections."""


class PermanentError(BackendError):
    """Retrying will not help: a refused key, an unknown model, a malformed request."""


class Backend(Protocol):
    """What the armour calls. ``name`` goes into the decisions table's ``backend`` column."""

    name: str
    model: str
    remote: bool
    """Whether calls cost money or rate limit (counted against budgets, cached)."""

    def ask(self, request: Request) -> Reply: ...
