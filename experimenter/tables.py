"""Plain-text tables for people reading the command line's output."""

from __future__ import annotations

import shutil
from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, stretch: int = -1) -> str:
    """Rows under headers in aligned columns; column ``stretch`` is cut to fit the terminal."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if rows and stretch is not None:
        col = stretch % len(headers)
        room = shutil.get_terminal_size((120, 24)).columns - sum(
            w + 2 for i, w in enumerate(widths) if i != col
        )
        widths[col] = max(min(widths[col], room), len(headers[col]), 20)
    lines = []
    for row in cells:
        parts = [_fit(v, w).ljust(w) for v, w in zip(row, widths, strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def rate(value: float | None) -> str:
    """A success rate as a percentage, ``-`` when never measured."""
    return "-" if value is None else f"{value:.0%}"
