"""Atomic writes: the whole new file or the old one, never a temporary file left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import pytest

from durable import atomic_write, atomic_write_bytes


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "slots.json"
    atomic_write_bytes(path, b'{"current": "a"}')
    atomic_write(path, lambda f: f.write(b'{"current": "b"}'))
    assert path.read_bytes() == b'{"current": "b"}'
    assert [p.name for p in tmp_path.iterdir()] == ["slots.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "learner.pt"
    atomic_write_bytes(path, b"old")

    def half_then_full_disk(f: BinaryIO) -> None:
        f.write(b"ne")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as caught:
        atomic_write(path, half_then_full_disk)
    assert caught.value.errno == 28
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["learner.pt"]


def test_the_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a", b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o644
