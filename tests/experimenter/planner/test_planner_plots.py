"""Learning curves drawn from stored evaluations, sized for a model's cheapest image tier."""

from __future__ import annotations

from planner_helpers import spec

import skills
from experimenter.planner.plots import (
    Curve,
    curves_image,
    fit_png,
    learning_curves_png,
    png_size,
    skill_progress,
)
from storage import Database


def test_curves_come_from_the_library_and_fit_in_384_pixels(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        k = skills.add_skill(s, spec=spec([("lifted", "red")]), decided_by="planner")
        for steps, successes in [(10_000, 2), (20_000, 9), (30_000, 15)]:
            skills.record_evaluation(
                s, skill_id=k.id, episodes=20, successes=successes, env_steps=steps
            )
    with sqlite_db.reader() as s:
        [progress] = skill_progress(s, skill_ids=[k.id])
    assert progress.instruction == "lift the red block"
    assert [(p.env_steps, p.success_rate) for p in progress.points] == [
        (10_000, 0.1), (20_000, 0.45), (30_000, 0.75),
    ]  # fmt: skip
    image = curves_image([progress], threshold=0.8)
    assert image.png.startswith(b"\x89PNG") and png_size(image.png) == (384, 384)


def test_many_skills_share_a_panel_and_large_pictures_are_scaled_down() -> None:
    curves = [Curve(f"skill {i}", [1_000, 2_000], [0.1, 0.2]) for i in range(12)]
    assert png_size(learning_curves_png(curves)) == (384, 384)
    big = learning_curves_png(curves[:2], size_px=960)
    assert png_size(big) == (960, 960)
    assert png_size(fit_png(big)) == (384, 384)
    small = learning_curves_png([], size_px=128)
    assert fit_png(small) == small
