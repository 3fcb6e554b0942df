"""Query parameters shared by a page and its API twin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import Field

from web.deps import Blank, ExperimentFilter, Limit, Offset


@dataclass(frozen=True)
class LibraryQuery:
    """What the library table shows: a search and/or filters, a sort, a page."""

    q: str | None
    filters: dict[str, Any]
    sort: str | None
    descending: bool
    offset: int
    limit: int | None

    def link(self, **changes: Any) -> str:
        """The table's URL with some parameters changed (for sort headers and pages)."""
        from urllib.parse import urlencode

        params: list[tuple[str, Any]] = []
        values = {
            "q": self.q,
            "sort": self.sort,
            "desc": "1" if self.descending else None,
            "offset": self.offset or None,
            "limit": self.limit,
            "min_success": self.filters.get("min_success"),
            "experiment": self.filters.get("experiment_id"),
        }
        values.update(changes)
        for key in ("status", "kind", "objects", "predicates"):
            name = {"objects": "object", "predicates": "predicate"}.get(key, key)
            params += [(name, v) for v in self.filters.get(key) or []]
        params += [(k, v) for k, v in values.items() if v not in (None, "")]
        return "?" + urlencode(params)


def library_query(
    q: Annotated[str | None, Query(max_length=200, description="Words to search for.")] = None,
    status: Annotated[list[str], Query(description="Statuses (repeatable).")] = [],  # noqa: B006
    kind: Annotated[list[str], Query(description="Kinds (repeatable).")] = [],  # noqa: B006
    object_: Annotated[
        list[str], Query(alias="object", description="Objects the spec mentions.")
    ] = [],  # noqa: B006
    predicate: Annotated[list[str], Query(description="Predicates the spec uses.")] = [],  # noqa: B006
    min_success: Annotated[
        Annotated[float, Field(ge=0, le=1)] | None, Blank, Query(description="At least.")
    ] = None,
    experiment: ExperimentFilter = None,
    sort: Annotated[
        Annotated[str, Field(pattern=r"^[a-z]{1,20}$")] | None,
        Blank,
        Query(
            description="id, instruction, status, kind, success, evaluations, updated, "
            "relevance (searches).",
        ),
    ] = None,
    desc: Annotated[bool, Query(description="Descending order.")] = False,
    offset: Offset = 0,
    limit: Limit = None,
) -> LibraryQuery:
    """The library table's parameters, each checked (bad values are a 4xx with a message)."""
    for values in (status, kind, object_, predicate):
        if len(values) > 20 or any(len(v) > 40 for v in values):
            raise ValueError("at most 20 values of at most 40 characters per filter")
    filters: dict[str, Any] = {
        "status": [s for s in status if s] or None,
        "kind": [k for k in kind if k] or None,
        "objects": [o for o in object_ if o] or None,
        "predicates": [p for p in predicate if p] or None,
        "min_success": min_success,
        "experiment_id": experiment,
    }
    return LibraryQuery(
        q=q.strip() if q and q.strip() else None,
        filters=filters,
        sort=sort,
        descending=desc,
        offset=offset,
        limit=limit,
    )


Library = Annotated[LibraryQuery, Depends(library_query)]
