"""Pictures the planner looks at (and the dashboard shows): learning curves as PNG.

The drawing itself is ``skills.plots`` (the dashboard shows the same picture without importing
the planner); this module turns stored evaluations into curves and fits images to
``MAX_SIDE_PX`` a side: Gemini bills an image that fits in 384 × 384 px as 258 tokens.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image as PILImage
from sqlalchemy.orm import Session

from experimenter.planner.inputs import CurvePoint, Image, SkillProgress

# One implementation of the learning-curve picture, shared with the dashboard (web/).
from skills.plots import GRID_MAX, MAX_SIDE_PX, Curve, learning_curves_png

__all__ = [
    "GRID_MAX",
    "MAX_SIDE_PX",
    "Curve",
    "curves_image",
    "fit_png",
    "learning_curves_png",
    "png_size",
    "skill_progress",
]


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
        points = [
            CurvePoint(
                env_steps=e.env_steps,
                success_rate=e.success_rate,
                episodes=e.episodes,
                lower_bound=e.success_lower,
            )
            for e in evals
        ]
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
