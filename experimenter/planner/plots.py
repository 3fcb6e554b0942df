"""Pictures the planner looks at (and the dashboard shows): learning curves as PNG.

Drawn with matplotlib's object API (``Figure`` on the Agg canvas, no pyplot state), so it is
safe in a daemon thread. Images are kept to at most ``MAX_SIDE_PX`` a side: Gemini bills an
image that fits in 384 × 384 px as 258 tokens, a larger one as 258 per 768-px tile.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from PIL import Image as PILImage
from sqlalchemy.orm import Session

from experimenter.planner.inputs import CurvePoint, Image, SkillProgress

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


def fit_png(png: bytes, *, max_side: int = MAX_SIDE_PX) -> bytes:
    """``png`` scaled down (never up) to at most ``max_side`` pixels a side."""
    with PILImage.open(io.BytesIO(png)) as im:
        if max(im.size) <= max_side:
            return png
        im.thumbnail((max_side, max_side))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        return buf.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    with PILImage.open(io.BytesIO(png)) as im:
        return im.size


def skill_progress(
    session: Session, *, skill_ids: Sequence[int], experiment_id: int | None = None
) -> list[SkillProgress]:
    """The stored evaluations of these skills as curves (of one experiment if given)."""
    from skills import skill_detail  # the library's read API; no SQL here

    out = []
    for sid in skill_ids:
        detail = skill_detail(session, skill_id=sid, evaluations=1000)
        evals = [
            e
            for e in reversed(detail.evaluations)  # newest first -> oldest first
            if experiment_id is None or e.experiment_id == experiment_id
        ]
        points = [CurvePoint(env_steps=e.env_steps, success_rate=e.success_rate) for e in evals]
        out.append(SkillProgress(skill_id=sid, instruction=detail.skill.instruction, points=points))
    return out


def curves_image(progress: Sequence[SkillProgress], *, threshold: float | None = None) -> Image:
    """The learning-curve picture of an *analyze* question."""
    curves = [
        Curve(
            label=f"{p.skill_id}: {p.instruction}",
            steps=[q.env_steps for q in p.points],
            rates=[q.success_rate for q in p.points],
        )
        for p in progress
    ]
    return Image(name="learning_curves.png", png=learning_curves_png(curves, threshold=threshold))
