"""The learner's checkpoint on disk, safe against a crash at any moment.

Two folders (``a`` and ``b``) take turns: a save goes to the folder that is *not* current,
then ``slots.json`` is replaced atomically to name it current. A crash during a save leaves
the current folder untouched, so the newest complete checkpoint always loads. The replay is
saved incrementally into each folder: every chunk written since that folder's last save is
rewritten (``ReplayBuffer.mark_changed_since``).

Every file goes through a temporary ``NAME.<random>.tmp`` (``durable.atomic_write``:
fsynced, renamed). A save that fails (a full disk) removes its temporary files, leaves the
current folder as it was and drops the learner from memory, so that nothing saves a learner
the database no longer agrees with and the next ``get`` reloads the last complete
checkpoint; it raises ``DiskFull`` when the disk was full. Temporary files a crash left
behind are removed when the learner is first loaded.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durable import TEMPORARY_SUFFIX, atomic_write_bytes

if TYPE_CHECKING:  # torch only once a learner is needed (the CLI imports ``DiskFull``)
    from controllers.learner import Learner, LearnerConfig

log = logging.getLogger(__name__)

SLOTS = ("a", "b")

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""Write errors that mean "no room": no space left, quota exceeded, file too large."""
SQLITE_FULL = 13
"""SQLite's result code for "database or disk is full"."""
PG_DISK_FULL = "53100"
"""PostgreSQL's SQLSTATE ``disk_full``."""
FREE_SPACE = "free space and run the same command again"


class DiskFull(OSError):
    """A write failed for lack of room; ``str()`` is the one line to show people."""

    def __init__(self, message: str, code: int = errno.ENOSPC) -> None:
        super().__init__(code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def disk_full(exc: BaseException) -> BaseException | None:
    """The error in ``exc``'s chain (causes, contexts, a database driver's original error)
    that says the disk was full, or None: an ``OSError`` with ENOSPC, EDQUOT or EFBIG,
    SQLite's SQLITE_FULL, PostgreSQL's disk_full."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
            return e
        if isinstance(e, sqlite3.Error) and (
            getattr(e, "sqlite_errorcode", None) == SQLITE_FULL or "disk is full" in str(e)
        ):
            return e
        if getattr(e, "sqlstate", None) == PG_DISK_FULL:
            return e
        orig = getattr(e, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        todo += [e.__cause__, e.__context__, orig if isinstance(orig, BaseException) else None]
    return None


def disk_full_line(exc: BaseException, default: str | Path = "the data directory") -> str:
    """One line for a write that failed for lack of room: ``exc``'s own if it is a
    ``DiskFull``, else naming the file written (``default`` when the error does not say)."""
    found = disk_full(exc) or exc
    for e in (exc, found):
        if isinstance(e, DiskFull):
            return e.message
    place = getattr(found, "filename", None) or default
    return f"disk full while writing {place}: {FREE_SPACE}"


def learner_dir(home: Path, experiment_id: int) -> Path:
    """Where experiment ``experiment_id`` keeps its learner checkpoint (a ``LearnerStore``):
    ``<data dir>/experiments/<id>/learner``."""
    return Path(home) / "experiments" / str(experiment_id) / "learner"


def remove_temporary_files(root: Path) -> list[Path]:
    """Delete the ``*.tmp`` files under ``root`` (left by a crash in the middle of a save;
    only the store's owner, holding the experiment's lock, may call this)."""
    removed = []
    for path in sorted(Path(root).rglob(f"*{TEMPORARY_SUFFIX}")):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted save", len(removed))
    return removed


class LearnerStore:
    """Loads the experiment's learner once and saves it in alternating folders."""

    def __init__(self, root: Path, config: LearnerConfig) -> None:
        self.root = Path(root)
        self.config = config
        self._learner: Learner | None = None

    def _meta(self) -> dict[str, Any]:
        path = self.root / "slots.json"
        if not path.exists():
            return {"current": None, "added": {s: 0 for s in SLOTS}}
        meta: dict[str, Any] = json.loads(path.read_text())
        return meta

    @property
    def current(self) -> Path | None:
        """Folder of the newest complete checkpoint, or None before the first save."""
        cur = self._meta()["current"]
        return self.root / cur if cur else None

    @property
    def loaded(self) -> bool:
        return self._learner is not None

    def get(self) -> Learner:
        """The learner: loaded from the newest checkpoint once, else new from the config."""
        if self._learner is None:
            from controllers.learner import Learner

            remove_temporary_files(self.root)
            cur = self.current
            if cur is not None:
                self._learner = Learner.load(cur, device=self.config.device)
                log.info(
                    "learner resumed from %s at %d env steps, %d updates",
                    cur,
                    self._learner.env_steps,
                    self._learner.updates,
                )
            else:
                self._learner = Learner(self.config)
        return self._learner

    def save(self) -> Path:
        """Save the learner into the other folder, then make it current; returns the folder.

        On failure the learner is dropped (see the module docstring) and the error raised,
        as ``DiskFull`` when the disk was full."""
        learner = self.get()
        meta = self._meta()
        slot = "b" if meta["current"] == "a" else "a"
        try:
            added = int(meta["added"].get(slot, 0))
            learner.replay.mark_changed_since(min(added, learner.replay.added))
            folder = learner.save(self.root / slot)
            meta = {"current": slot, "added": {**meta["added"], slot: learner.replay.added}}
            atomic_write_bytes(self.root / "slots.json", json.dumps(meta).encode())
        except BaseException as e:
            self.drop()
            if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
                raise DiskFull(
                    f"disk full while saving the learner checkpoint to {self.root / slot}: "
                    f"{FREE_SPACE}",
                    e.errno,
                ) from e
            raise
        return folder

    def drop(self) -> None:
        """Forget the learner in memory without saving it: the next ``get`` reloads the last
        complete checkpoint. For when memory and the database may disagree (a failed save,
        a failed write of collected episodes)."""
        if self._learner is not None:
            log.info("learner dropped unsaved; the last complete checkpoint will be reloaded")
        self.close()

    def close(self) -> None:
        if self._learner is not None:
            self._learner.close()
            self._learner = None
