"""Learning curves as PNG: the picture the planner looks at and the dashboard shows.

One implementation for both (``experimenter.planner.plots`` re-exports it), so a person sees
what the model saw. Drawn with matplotlib's object API (``Figure`` on the Agg canvas, no
pyplot state), safe in threads; matplotlib is imported on first use only, so importing
``skills`` stays light. Images are kept to at most ``MAX_SIDE_PX`` a side: Gemini bills an
image that fits in 384 × 384 px as 258 tokens, a larger one as 258 per 768-px tile.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SIDE_PX = 384
GRID_MAX = 9
"""Up to this many skills get a panel each; more share one panel."""


@dataclass(frozen=True)
class Curve:
    """One skill's success rate against env steps, oldest first."""

    label: str
    steps: Sequence[int]
    rates: Sequence[float]


def _short(label: str, width: int = 34) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def learning_curves_png(
    curves: Sequence[Curve], *, threshold: float | None = None, size_px: int = MAX_SIDE_PX
) -> bytes:
    """A grid of success curves (one panel per skill), ``size_px`` square, as PNG bytes."""
    from matplotlib.figure import Figure  # heavy: only when a picture is drawn

    dpi = 96
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    n = max(1, len(curves))
    panels = n if n <= GRID_MAX else 1
    cols = math.ceil(math.sqrt(panels))
    rows = math.ceil(panels / cols)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    small = 6 if panels > 4 else 7
    for i, ax in enumerate(axes):
        if i >= panels:
            ax.axis("off")
            continue
        shown = curves if panels == 1 else curves[i : i + 1]
        for c in shown:
            ax.plot([s / 1000 for s in c.steps], c.rates, marker="o", markersize=2, linewidth=1)
        if threshold is not None:
            ax.axhline(threshold, color="grey", linestyle="--", linewidth=0.6)
        ax.set_ylim(-0.02, 1.02)
        ax.tick_params(labelsize=small - 1)
        title = _short(shown[0].label) if len(shown) == 1 else f"{len(shown)} skills"
        ax.set_title(title, fontsize=small)
        ax.set_xlabel("env steps (k)", fontsize=small - 1)
    if not curves:
        axes[0].set_title("no evaluations yet", fontsize=7)
    fig.tight_layout(pad=0.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
