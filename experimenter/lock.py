"""One daemon per experiment: an exclusive lock that the operating system releases when the
process dies (``kill -9`` included), so a crashed daemon never blocks its successor.

A lock file in the data directory (``flock``), and on PostgreSQL also a session-level
advisory lock, which covers daemons on other machines sharing the database.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from storage import Database

ADVISORY_KEY = 0x45585000
"""High bits of the PostgreSQL advisory lock key ('EXP'); the experiment id is added."""


class ExperimentLocked(RuntimeError):
    """Another daemon runs this experiment."""


class ExperimentLock:
    """Held while a daemon runs experiment ``experiment_id``."""

    def __init__(self, db: Database, home: Path, experiment_id: int) -> None:
        self.db = db
        self.path = Path(home) / "experiments" / str(experiment_id) / "daemon.lock"
        self.experiment_id = experiment_id
        self._fd: int | None = None
        self._pg: Any = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ExperimentLocked(
                f"experiment {self.experiment_id} is already run by another daemon (pid "
                f"{holder}, lock {self.path}); stop it first (experimenter stop "
                f"{self.experiment_id}) or run another experiment with --experiment NAME"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        if self.db.dialect == "postgresql":
            conn = self.db.engine.raw_connection()
            cur = conn.cursor()
            cur.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY + self.experiment_id,))
            row = cur.fetchone()
            conn.commit()
            if not (row and row[0]):
                conn.close()
                self.release()
                raise ExperimentLocked(
                    f"experiment {self.experiment_id} is already run by a daemon on another "
                    "machine sharing this PostgreSQL database; stop it first"
                )
            self._pg = conn

    def held_elsewhere(self) -> bool:
        """Whether some daemon holds the lock now (without taking it)."""
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops a lock taken just now
        return False

    def release(self) -> None:
        if self._pg is not None:
            self._pg.close()  # the session ends: PostgreSQL drops the advisory lock
            self._pg = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ExperimentLock:
        self.acquire()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
