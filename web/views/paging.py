"""Keyset paging shared by every list: newest first, cut at a cursor (an id or a number)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from storage.pages import MAX_PAGE

R = TypeVar("R")


def keyset_page(
    fetch: Callable[[int, int | None], list[R]],
    *,
    limit: int,
    before: int | None,
    cursor: Callable[[R], int],
) -> tuple[list[R], int | None]:
    """At most ``limit`` rows before the cursor ``before``, and the cursor of the next page
    (``None`` on the last). One row more than asked says whether there is a next page; at the
    largest page the storage allows, a one-row look past the page does."""
    if limit < MAX_PAGE:
        rows = fetch(limit + 1, before)
        page = rows[:limit]
        more = len(rows) > limit
    else:
        page = fetch(limit, before)
        more = len(page) == limit and bool(fetch(1, cursor(page[-1])))
    return page, cursor(page[-1]) if more else None
