"""Artifacts: what the store registered for a hash, before the file is served."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.artifacts import get_artifact


def artifact(session: Session, *, sha256: str) -> tuple[str, str | None]:
    """The registered media type and name of an artifact; ``LookupError`` if unregistered."""
    row = get_artifact(session, sha256=sha256)
    if row is None:
        raise LookupError(f"no artifact {sha256} is registered")
    return row.media_type, row.name
