"""The learner's checkpoint on a full disk: a failed save removes its temporary files, keeps
the current checkpoint, drops the unsaved learner and says so in one line (``DiskFull``); a
crash's leftover ``*.tmp`` files are removed at the next load; ``disk_full`` recognises a
full disk however the error arrives (OSError, SQLite, SQLAlchemy, a wrapped cause)."""

from __future__ import annotations

import errno
import json
import resource
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from controllers.learner import LearnerConfig
from experimenter.learner_store import DiskFull, LearnerStore, disk_full, disk_full_line

CONFIG = LearnerConfig(
    hidden=(32, 32), batch_size=16, episode_steps=10, num_envs=2, random_steps=20,
    buffer_capacity=5_000, buffer_chunk=64,
)  # fmt: skip


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes fail with EFBIG (as on a full disk) in this block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def collect(store: LearnerStore, steps: int) -> None:
    learner = store.get()
    task = learner.add_task("reach the red block")
    learner.set_weights({task: 1.0})
    learner.collect(steps)


def current(root: Path) -> str:
    return str(json.loads((root / "slots.json").read_text())["current"])


@pytest.mark.parametrize("limit", [4_096, 256 * 1024], ids=["replay-chunk", "learner.pt"])
def test_a_save_on_a_full_disk_keeps_the_checkpoint_and_leaves_no_temporary_file(
    tmp_path: Path, limit: int
) -> None:
    root = tmp_path / "learner"
    store = LearnerStore(root, CONFIG)
    collect(store, 40)
    assert store.save() == root / "a"
    collect(store, 200)  # the replay's chunks grow past 4 KB; learner.pt is larger still
    with file_size_limit(limit), pytest.raises(DiskFull) as caught:
        store.save()
    assert str(caught.value) == (
        f"disk full while saving the learner checkpoint to {root / 'b'}: "
        "free space and run the same command again"
    )
    assert caught.value.errno == errno.EFBIG
    assert list(root.rglob("*.tmp")) == []
    assert current(root) == "a"
    assert not store.loaded  # the unsaved learner is gone: nothing saves it later
    # With room again: the last complete checkpoint loads, and saving works.
    learner = store.get()
    assert learner.env_steps == learner.replay.added == 40
    collect(store, 40)
    assert store.save() == root / "b" and current(root) == "b"
    store.close()
    again = LearnerStore(root, CONFIG).get()
    assert again.env_steps == again.replay.added == 80


def test_temporary_files_left_by_a_crash_are_removed_at_load(tmp_path: Path) -> None:
    root = tmp_path / "learner"
    store = LearnerStore(root, CONFIG)
    collect(store, 40)
    store.save()
    store.close()
    stale = [root / "b" / "learner.pt.tmp", root / "a" / "replay" / "chunk_000001.npz.tmp"]
    for path in [*stale, root / "slots.json.tmp"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1000)
    learner = LearnerStore(root, CONFIG).get()
    assert learner.env_steps == 40
    assert list(root.rglob("*.tmp")) == []


def test_disk_full_is_recognised_however_it_arrives() -> None:
    enospc = OSError(errno.ENOSPC, "No space left on device", "/data/x")
    assert disk_full(enospc) is enospc
    assert disk_full(OSError(errno.EDQUOT, "Disk quota exceeded")) is not None
    assert disk_full(OSError(errno.EFBIG, "File too large")) is not None
    lite = sqlite3.OperationalError("database or disk is full")
    assert disk_full(lite) is lite
    wrapped = OperationalError("INSERT INTO episodes ...", {}, lite)
    assert disk_full(wrapped) is lite
    try:
        try:
            raise enospc
        except OSError as e:
            raise RuntimeError("PytorchStreamWriter failed writing file") from e
    except RuntimeError as e:
        assert disk_full(e) is enospc
    assert disk_full(OSError(errno.EACCES, "Permission denied")) is None
    assert disk_full(ValueError("no")) is None
    assert disk_full_line(enospc) == (
        "disk full while writing /data/x: free space and run the same command again"
    )
    assert disk_full_line(wrapped, default="/home/data").startswith(
        "disk full while writing /home/data: "
    )
    assert disk_full_line(DiskFull("disk full while saving X: ...")) == (
        "disk full while saving X: ..."
    )
