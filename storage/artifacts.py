"""Artifacts: content-addressed files (images, videos, checkpoint manifests) and their rows.

A file is named by the sha256 of its bytes, under ``<root>/<first two hex>/<sha256>``.
Writing goes through ``durable.atomic_write_bytes`` (a temporary file in the same folder,
fsynced, renamed into place, the folder fsynced), so a crash never leaves a half-written
artifact under a valid name. Reading recomputes the hash: a corrupt file raises
``ArtifactCorrupt`` instead of being served. ``save_artifact`` stores the bytes and
registers them in the ``artifacts`` table (size, media type, name), which is what the
dashboard serves them by.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from durable import atomic_write_bytes
from storage.models import Artifact

CHUNK = 1 << 20


class ArtifactMissing(FileNotFoundError):
    """No artifact with this hash in the store."""


class ArtifactCorrupt(OSError):
    """An artifact whose bytes no longer match its hash (disk damage, manual edits)."""


def _check_hash(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r} (64 lowercase hex characters)")
    return sha256


class ArtifactStore:
    """Files named by their sha256 under ``root``; equal content is stored once."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the artifact ``sha256`` lives (whether or not it exists)."""
        _check_hash(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its sha256. Storing the same bytes again is a no-op."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists() and self._hash_file(target) == sha256:
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
        return sha256

    def put_file(self, source: Path) -> str:
        """Store a copy of the file ``source``; returns its sha256."""
        return self.put(Path(source).read_bytes())

    def get(self, sha256: str) -> bytes:
        """The bytes of artifact ``sha256``, checked against the hash.

        Raises ``ArtifactMissing`` if absent, ``ArtifactCorrupt`` if the content changed.
        """
        target = self.path(sha256)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise ArtifactMissing(f"artifact {sha256} is not in the store at {self.root}") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ArtifactCorrupt(
                f"artifact {sha256} at {target} is corrupt: its content hashes to {actual}; "
                "restore it from a backup or re-create it (the stored copy is not served)"
            )
        return data

    def exists(self, sha256: str) -> bool:
        """Whether a file for ``sha256`` is present (not verified; ``get`` verifies)."""
        return self.path(sha256).is_file()

    @staticmethod
    def _hash_file(path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()


def save_artifact(
    session: Session,
    *,
    store: ArtifactStore,
    data: bytes,
    media_type: str = "application/octet-stream",
    name: str | None = None,
) -> Artifact:
    """Write ``data`` to the artifact store and register it (once per content)."""
    sha = store.put(data)
    row = session.get(Artifact, sha)
    if row is None:
        row = Artifact(sha256=sha, size=len(data), media_type=media_type, name=name)
        session.add(row)
        session.flush()
    return row


def get_artifact(session: Session, *, sha256: str) -> Artifact | None:
    """The registration (size, media type, name) of an artifact, or ``None``."""
    return session.get(Artifact, sha256)
