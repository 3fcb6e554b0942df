"""Checkpoint files written whole or not at all: ``durable.atomic_write``, under the name
``replay.py`` and ``learner.py`` import it by."""

from __future__ import annotations

from durable import atomic_write

__all__ = ["atomic_write"]
