"""The one interface every planner backend implements: a request in, raw JSON and usage out.

A backend only talks to its model. Parsing into the answer schema, retries, the repair
re-ask, budgets, caching, fallback and recording are the planner's (``planner.asking``), so
that they are the same for every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from experimenter.planner.answers import QuestionKind
from experimenter.planner.inputs import Image


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
    timeout_s: float | None = None
    """Seconds this attempt may wait for the answer (the planner's: the smaller of the HTTP
    timeout and what is left of the question's time); None: the backend's own."""


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


class MalformedReply(BackendError):
    """An HTTP success whose body is not the API's answer: truncated JSON, an HTML page from
    a proxy or captive portal, JSON of another shape. The planner treats it like an invalid
    answer (recorded, repaired once, then answered offline), not like a refusal."""

    def __init__(self, message: str, body: str | None = None):
        super().__init__(message)
        self.body = body
        """What arrived (as text, cut to a few thousand characters), for the decisions row."""


BODY_CHARS = 4000
"""How much of a malformed body is kept in a decisions row and quoted in the repair."""


def quote_body(body: object) -> str:
    """A malformed body as text, cut to ``BODY_CHARS``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text if len(text) <= BODY_CHARS else text[:BODY_CHARS] + f"... ({len(text)} chars)"


READ_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # json.JSONDecodeError, pydantic.ValidationError
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)
"""What the SDKs raise (or what reading their result raises) when a 200 body is not the
API's answer: google-genai and openai parse it with ``json.loads`` (``JSONDecodeError`` on a
truncated body or an HTML page) and convert it with pydantic or by hand."""


class Backend(Protocol):
    """What the planner calls. ``name`` goes into the decisions table's ``backend`` column."""

    name: str
    model: str
    remote: bool
    """Whether calls cost money or rate limit (counted against budgets, cached).

    A remote backend may also say ``max_reply_tokens`` (an int: the most output tokens, with
    thinking, one answer may be billed for), which the planner's worst-case budget check
    reads before each call; without it the check counts the prompt only."""

    def ask(self, request: Request) -> Reply: ...
