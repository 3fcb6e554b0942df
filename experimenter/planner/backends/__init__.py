"""Planner backends, registered by name: ``make_backend("gemini", settings)``.

- ``gemini``: Google's google-genai SDK, images as inline PNG parts, response schema;
- ``openai``: any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, ...);
- ``offline``: a deterministic rule-based experimenter, no network (the default);
- ``replay``: answers recorded earlier, from a decisions file.

A new backend is a class with ``name``, ``model``, ``remote`` and ``ask(request)``, and a
factory registered with ``@register("name")``. The SDKs are imported only when their backend
is built, so importing the planner stays light.
"""

from __future__ import annotations

from collections.abc import Callable

from experimenter.planner.backends.base import (
    Backend,
    BackendError,
    PermanentError,
    Reply,
    Request,
    TransientError,
    Usage,
)
from experimenter.planner.config import PlannerSettings

Factory = Callable[[PlannerSettings], Backend]
BACKENDS: dict[str, Factory] = {}

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "PermanentError",
    "Reply",
    "Request",
    "TransientError",
    "Usage",
    "make_backend",
    "register",
]


def register(name: str) -> Callable[[Factory], Factory]:
    """Register a backend factory under ``name``."""

    def add(factory: Factory) -> Factory:
        BACKENDS[name] = factory
        return factory

    return add


@register("gemini")
def _gemini(settings: PlannerSettings) -> Backend:
    from experimenter.planner.backends.gemini import GeminiBackend

    return GeminiBackend.from_settings(settings)


@register("openai")
def _openai(settings: PlannerSettings) -> Backend:
    from experimenter.planner.backends.openai_compat import OpenAIBackend

    return OpenAIBackend.from_settings(settings)


@register("offline")
def _offline(settings: PlannerSettings) -> Backend:
    from experimenter.planner.backends.offline import OfflineBackend

    return OfflineBackend()


@register("replay")
def _replay(settings: PlannerSettings) -> Backend:
    from experimenter.planner.backends.replay import ReplayBackend

    if settings.replay_file is None:
        raise ValueError(
            "the replay backend needs a decisions file: set EXPERIMENTER_PLANNER_REPLAY_FILE "
            "(written by experimenter.planner.export_decisions)"
        )
    return ReplayBackend.from_file(settings.replay_file)


def make_backend(name: str, settings: PlannerSettings) -> Backend:
    """The backend registered as ``name``, configured from ``settings``."""
    factory = BACKENDS.get(name)
    if factory is None:
        raise ValueError(
            f"unknown planner backend {name!r}; allowed: {', '.join(sorted(BACKENDS))}"
        )
    return factory(settings)
