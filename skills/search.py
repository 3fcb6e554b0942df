"""Full-text search over skill instructions, wordings and descriptions.

SQLite: the FTS5 table ``skills_fts`` (porter stemmer), ranked by bm25. PostgreSQL: the
generated ``search_document`` tsvector (english configuration) behind a GIN index, ranked by
``ts_rank``. Both made by migration 0002. A query's words are all required (``all_words``)
or any of them suffices; quotes and operators typed by a person are read as plain words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import column, func, literal_column, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from skills.errors import SkillError
from skills.schemas import SearchHit, SkillPublic
from skills.status import parse_status
from storage.enums import SkillStatus
from storage.models import Skill

MAX_RESULTS = 1000
_fts = table("skills_fts", column("rowid"))


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
        joiner = " & " if all_words else " | "
        tsquery = func.to_tsquery(literal_column("'english'::regconfig"), joiner.join(words))
        document: ColumnElement[Any] = literal_column("skills.search_document")
        score = func.ts_rank(document, tsquery)
        query_ = (
            select(Skill.id, score)
            .where(document.op("@@")(tsquery))
            .order_by(score.desc(), Skill.id)
        )
    else:
        joiner = " " if all_words else " OR "
        match = joiner.join(f'"{w}"' for w in words)
        # bm25 is lower-is-better; negated so that both databases report higher-is-better.
        rank: ColumnElement[float] = literal_column("bm25(skills_fts)")
        query_ = (
            select(Skill.id, -rank)
            .join(_fts, _fts.c.rowid == Skill.id)
            .where(literal_column("skills_fts").op("MATCH")(match))
            .order_by(rank, Skill.id)
        )
    if statuses:
        query_ = query_.where(Skill.status.in_(list(statuses)))
    return [(int(i), float(s)) for i, s in session.execute(query_.limit(limit))]


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
