"""The artifact store: content-addressed, atomic, and never serving a corrupt file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage import ArtifactCorrupt, ArtifactMissing, ArtifactStore


def test_put_then_get_returns_the_bytes_under_their_hash(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    data = b"\x89PNG fake image" * 1000
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.get(sha) == data
    assert store.path(sha) == tmp_path / sha[:2] / sha


def test_equal_content_is_stored_once_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    assert store.put(b"same") == store.put(b"same")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".tmp-")


def test_put_file_copies_a_file(tmp_path: Path) -> None:
    source = tmp_path / "curve.png"
    source.write_bytes(b"curve")
    store = ArtifactStore(tmp_path / "store")
    assert store.get(store.put_file(source)) == b"curve"


def test_a_corrupt_artifact_is_reported_not_served(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    sha = store.put(b"checkpoint weights")
    store.path(sha).write_bytes(b"checkpoint weightz")
    with pytest.raises(ArtifactCorrupt, match=f"artifact {sha} .* is corrupt"):
        store.get(sha)
    store.put(b"checkpoint weights")  # storing it again repairs it
    assert store.get(sha) == b"checkpoint weights"


def test_missing_and_malformed_hashes_are_clear_errors(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ArtifactMissing, match="not in the store"):
        store.get("0" * 64)
    with pytest.raises(ValueError, match="not a sha256 hex digest"):
        store.get("../../etc/passwd")
