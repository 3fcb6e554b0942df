"""Full-text search over skill instructions, wordings and descriptions.

SQLite: the FTS5 table ``skills_fts`` (porter stemmer), ranked by bm25. PostgreSQL: the
table ``skill_search`` of tsvectors (english configuration) behind a GIN index, ranked by
``ts_rank``. Both made by migration 0002. A query's words are all required (``all_words``)
or any of them suffices; quotes and operators typed by a person are read as plain words.

Ranking costs about a microsecond per matching skill, so a search ranks at most
``RANK_WINDOW`` matches: when more skills match (two common words in a library of 100,000),
the best among the 5,000 oldest matches are returned; every match is still found by a more
specific query. This bounds a search to a few milliseconds at any library size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import column, func, literal_column, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from skills.errors import SkillError
from skills.schemas import SearchHit, SkillPublic
from skills.status import parse_status
from storage.enums import SkillStatus
from storage.models import Skill

MAX_RESULTS = 1000
RANK_WINDOW = 5000
"""Most matches ranked per search; beyond it the oldest RANK_WINDOW matches are ranked."""
_fts = table("skills_fts", column("rowid"))
_search = table("skill_search", column("skill_id"), column("document"))


def query_words(query: str) -> list[str]:
    """The words of a search query (letters and digits), lower-cased, in order, unique."""
    return list(dict.fromkeys(re.findall(r"[a-z0-9]+", query.lower())))


def search_ids(
    session: Session,
    *,
    query: str,
    limit: int = 20,
    all_words: bool = True,
    statuses: Sequence[str] = (),
) -> list[tuple[int, float]]:
    """``(skill id, score)`` of the best matches, best first (score: higher is better)."""
    words = query_words(query)
    if not words:
        raise SkillError(f"search query {query!r} has no words to look for")
    if not 1 <= limit <= MAX_RESULTS:
        raise SkillError(f"limit must be between 1 and {MAX_RESULTS}, got {limit}")
    if session.get_bind().dialect.name == "postgresql":
        return _search_postgresql(session, words, limit, all_words, statuses)
    return _search_sqlite(session, words, limit, all_words, statuses)


def _search_sqlite(
    session: Session, words: list[str], limit: int, all_words: bool, statuses: Sequence[str]
) -> list[tuple[int, float]]:
    match = (" " if all_words else " OR ").join(f'"{w}"' for w in words)
    matches = literal_column("skills_fts").op("MATCH")(match)
    base = select(_fts.c.rowid).where(matches)
    if statuses:
        base = base.join(Skill, Skill.id == _fts.c.rowid).where(Skill.status.in_(list(statuses)))
    # Rank at most RANK_WINDOW matches: the oldest ones, found cheaply in rowid order.
    last = session.scalar(base.order_by(_fts.c.rowid).offset(RANK_WINDOW - 1).limit(1))
    bm25: ColumnElement[float] = literal_column("bm25(skills_fts)")
    query = base.add_columns(-bm25).order_by(bm25, _fts.c.rowid)  # bm25: lower is better
    if last is not None:
        query = query.where(_fts.c.rowid <= last)
    return [(int(i), float(s)) for i, s in session.execute(query.limit(limit))]


def _search_postgresql(
    session: Session, words: list[str], limit: int, all_words: bool, statuses: Sequence[str]
) -> list[tuple[int, float]]:
    tsquery = func.to_tsquery(
        literal_column("'english'::regconfig"), (" & " if all_words else " | ").join(words)
    )
    found = select(_search.c.skill_id, _search.c.document).where(
        _search.c.document.op("@@")(tsquery)
    )
    if statuses:
        found = found.join(Skill, Skill.id == _search.c.skill_id).where(
            Skill.status.in_(list(statuses))
        )
    window = found.limit(RANK_WINDOW).subquery()  # the first matches in table order
    score = func.ts_rank(window.c.document, tsquery)
    query = select(window.c.skill_id, score).order_by(score.desc(), window.c.skill_id)
    return [(int(i), float(s)) for i, s in session.execute(query.limit(limit))]


def search_skills(
    session: Session,
    *,
    query: str,
    limit: int = 20,
    status: SkillStatus | str | Sequence[SkillStatus | str] | None = None,
) -> list[SearchHit]:
    """Skills whose instruction, wording or description contain every word of ``query``.

    Words are stemmed ("stacking" finds "stack"); results are best first, at most ``limit``.
    """
    given = [status] if isinstance(status, str) else list(status or [])
    statuses = [parse_status(s).value for s in given]
    hits = search_ids(session, query=query, limit=limit, statuses=statuses)
    rows = load_skills(session, ids=[i for i, _ in hits])
    return [SearchHit(skill=rows[i], score=s) for i, s in hits if i in rows]


def load_skills(session: Session, *, ids: Sequence[int]) -> dict[int, SkillPublic]:
    """The skills with these ids, by id (missing ids are left out)."""
    if not ids:
        return {}
    rows = session.scalars(select(Skill).where(Skill.id.in_(list(ids))))
    return {r.id: SkillPublic.model_validate(r) for r in rows}
