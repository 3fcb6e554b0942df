"""Paging: how many rows a list function returns at most.

Lists are keyset-paged by id (``before_id``), so a page costs the same however long an
experiment has run. The dashboard asks for at most ``MAX_PAGE`` rows (its routes refuse
more); the lists only it reads (experiments, iterations, metric points, commands) refuse
more too, while the lists the loop also reads (tasks, decisions) take any positive limit.
"""

from __future__ import annotations

MAX_PAGE = 1000
"""Most rows of a dashboard page."""


def check_limit(limit: int, *, most: int | None = MAX_PAGE) -> None:
    """Refuse a ``limit`` below 1 or above ``most`` (``None``: no upper bound)."""
    if most is None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
    elif not 1 <= limit <= most:
        raise ValueError(f"limit must be between 1 and {most}, got {limit}")
