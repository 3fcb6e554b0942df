"""Files written whole or not at all, and on disk when the call returns.

``atomic_write(path, write)`` writes through a temporary file beside ``path``
(``NAME.<random>.tmp``), fsyncs it, renames it over ``path`` and fsyncs the folder, so a
crash at any moment leaves the old file or the new one, never half of one, and a finished
call survives a power cut. On any error (a full disk) the temporary file is removed and the
error raised as it came, errno included. Each call has its own temporary name, so two
writers of one path never write into the same temporary file; the last rename wins.

Its own package because every layer writes such files — the learner's checkpoint
(``controllers``), the artifact store (``storage``), the planner's cache (``experimenter``)
— and ``controllers`` and ``storage`` may not import each other. Like ``tasks`` it imports
nothing of ours and only the standard library. Temporary files end in ``.tmp``: the owner of
a folder removes a crash's leftovers by that suffix (``experimenter.learner_store``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["TEMPORARY_SUFFIX", "atomic_write", "atomic_write_bytes", "fsync_folder"]

TEMPORARY_SUFFIX = ".tmp"
"""The suffix of a temporary file (a crash may leave one behind)."""


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write(f)`` into a temporary file beside ``path``, then put it in ``path``'s place
    (see the module docstring). The new file gets the usual permissions (``0o666`` less the
    umask), as ``open(path, "wb")`` would give it."""
    path = Path(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """``data`` into ``path``, whole or not at all (``atomic_write``)."""
    atomic_write(path, lambda f: f.write(data))


def _create_temporary(path: Path) -> tuple[int, Path]:
    # Not tempfile.mkstemp: it creates the file with mode 0600, and the file keeps its mode
    # when renamed into place.
    for _ in range(100):
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path} after 100 tries")


def fsync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries: a rename into it is durable only once they are on disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
