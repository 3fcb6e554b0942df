"""Files the pages embed: artifacts by hash, learning-curve PNGs, metric charts (SVG).

An artifact is found by its sha256 only: the hash is checked to be 64 hex characters, must be
registered in the ``artifacts`` table (which gives its media type) and is read back from the
content-addressed store, which verifies it. No part of a request becomes a path.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from storage import ArtifactCorrupt, ArtifactMissing
from web import views
from web.charts import line_chart_svg
from web.deps import ExperimentId, Reader, SkillId, Store

router = APIRouter(tags=["files"])

INLINE = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "application/json",
    "text/plain",
}
"""Media types shown in the page; anything else is downloaded as bytes."""
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256 (lowercase hex).")]
SeriesName = Annotated[str, Path(max_length=100, pattern=r"^[\w.:-]+$")]
IMMUTABLE = "public, max-age=31536000, immutable"

BINARY = {"schema": {"type": "string", "format": "binary"}}
PAGE = {"text/html": {"schema": {"type": "string"}}}
"""Errors here are the dashboard's HTML error page (the JSON bodies are the API's)."""


def _files(media_types: list[str], *extra: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a file route: its bytes, and the HTML error pages it may send."""
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": "The file.", "content": {m: BINARY for m in media_types}},
        404: {"description": "No such experiment, skill or artifact.", "content": PAGE},
        422: {"description": "A malformed id, hash or series name.", "content": PAGE},
    }
    for code in extra:
        out[code] = {
            "description": "The artifact is damaged on disk and is not served.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    return out


@router.get(
    "/artifacts/{sha256}",
    summary="An artifact's bytes, by hash",
    response_class=Response,
    responses=_files(sorted(INLINE | {"application/octet-stream"}), 410),
)
def artifact(sha256: Sha256, s: Reader, store: Store) -> Response:
    media_type, name = views.artifact(s, sha256=sha256)
    if store is None:
        raise LookupError("this dashboard has no artifact store (start it with --data-dir)")
    try:
        data = store.get(sha256)
    except ArtifactMissing as e:
        raise LookupError(str(e)) from None
    except ArtifactCorrupt:
        return Response(
            f"artifact {sha256} is damaged on disk and is not served",
            status_code=410,
            media_type="text/plain",
        )
    headers = {"Cache-Control": IMMUTABLE, "Content-Security-Policy": "sandbox"}
    if media_type not in INLINE:
        media_type = "application/octet-stream"
        safe = re.sub(r"[^\w.-]", "_", name or sha256)[:100]
        headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return Response(data, media_type=media_type, headers=headers)


@router.get(
    "/experiments/{experiment_id}/curves.png",
    summary="Learning curves in training",
    response_class=Response,
    responses=_files(["image/png"]),
)
def experiment_curves(request: Request, experiment_id: ExperimentId, s: Reader) -> Response:
    curves, threshold = views.training_curves(s, experiment_id=experiment_id)
    png = request.app.state.pngs.curves(curves, threshold=threshold)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.get(
    "/skills/{skill_id}/curve.png",
    summary="A skill's evaluation history",
    response_class=Response,
    responses=_files(["image/png"]),
)
def skill_curve(request: Request, skill_id: SkillId, s: Reader) -> Response:
    curve = views.skill_curve(s, skill_id=skill_id)
    png = request.app.state.pngs.curves([curve] if curve.steps else [])
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.get(
    "/experiments/{experiment_id}/metrics/{name}.svg",
    summary="A metric series chart",
    response_class=Response,
    responses=_files(["image/svg+xml"]),
)
def metric_chart(
    request: Request, experiment_id: ExperimentId, name: SeriesName, s: Reader
) -> Response:
    cache = request.app.state.charts
    svg = cache.get((experiment_id, name))
    if svg is None:
        points = views.metric_chart_points(s, experiment_id=experiment_id, name=name)
        svg = line_chart_svg(points, title=name)
        cache.put((experiment_id, name), svg)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-cache"},
    )
