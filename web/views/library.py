"""The skill library: its table (browsing or a search), a skill's page and its curve."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from skills import get_skill, skill_detail
from skills.browse import matching_ids, skill_page, success_series
from skills.errors import SkillError
from skills.plots import Curve
from skills.search import load_skills, search_ids
from storage.artifacts import get_artifact
from storage.episodes import latest_episode
from web.schemas import SkillPage, SkillRow, SkillTable, VideoRef

SPARK_POINTS = 20
"""Evaluations drawn in a sparkline."""
SEARCH_WINDOW = 1000
"""Most search hits a library search keeps (then filtered, sorted and paged)."""


def skill_table(
    session: Session,
    *,
    query: str | None,
    filters: dict[str, Any],
    sort: str | None,
    descending: bool,
    offset: int,
    limit: int,
) -> SkillTable:
    """A page of the library: browsing (any sort) or a search (best first by default)."""
    scores: dict[int, float] | None = None
    if query is not None and query.strip():
        hits = search_ids(
            session,
            query=query,
            limit=SEARCH_WINDOW,
            statuses=[str(s) for s in filters.get("status") or []],
        )
        scores = dict(hits)
    if scores is not None and sort in (None, "relevance"):
        # Rank order: the hits (best first) that pass the filters, paged in Python; only the
        # page's skills are loaded.
        extra = {k: v for k, v in filters.items() if k != "status" and v is not None}
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        if extra:
            keep = matching_ids(session, ids=ranked, **extra)
            ranked = [i for i in ranked if i in keep]
        if descending:
            ranked.reverse()
        total = len(ranked)
        wanted = ranked[offset : offset + limit]
        loaded = load_skills(session, ids=wanted)
        page = [loaded[i] for i in wanted if i in loaded]
    else:
        if sort == "relevance":
            raise SkillError("sorting by relevance needs a search query (q)")
        ids = list(scores) if scores is not None else None
        page, total = skill_page(
            session, sort=sort or "id", descending=descending, offset=offset, limit=limit,
            ids=ids, **filters,
        )  # fmt: skip
    recent = success_series(session, skill_ids=[k.id for k in page], last=SPARK_POINTS)
    rows = [
        SkillRow(
            skill=k,
            recent=[p.success_rate for p in recent[k.id]],
            score=scores.get(k.id) if scores is not None else None,
        )
        for k in page
    ]
    more = offset + len(page) < total
    return SkillTable(
        items=rows, total=total, offset=offset, limit=limit,
        next_offset=offset + len(page) if more else None,
    )  # fmt: skip


def skill(session: Session, *, skill_id: int) -> SkillPage:
    """The skill page: detail, the newest evaluation video, the curve's URL."""
    detail = skill_detail(session, skill_id=skill_id, evaluations=100)
    episode = latest_episode(
        session, skill_id=skill_id, purpose="evaluate", with_video=True
    ) or latest_episode(session, skill_id=skill_id, with_video=True)
    video = None
    if episode is not None and episode.video_sha256 is not None:
        artifact = get_artifact(session, sha256=episode.video_sha256)
        if artifact is not None:
            video = VideoRef(
                episode_id=episode.id, sha256=artifact.sha256, media_type=artifact.media_type,
                url=f"/artifacts/{artifact.sha256}", success=episode.success, steps=episode.steps,
            )  # fmt: skip
    return SkillPage(detail=detail, video=video, curve_png=f"/skills/{skill_id}/curve.png")


def skill_curve(session: Session, *, skill_id: int) -> Curve:
    """A skill's whole evaluation history as one curve."""
    skill = get_skill(session, skill_id=skill_id)
    points = success_series(session, skill_ids=[skill_id], last=1000)[skill_id]
    return Curve(
        label=f"{skill.id}: {skill.instruction}",
        steps=[p.env_steps for p in points],
        rates=[p.success_rate for p in points],
    )
