"""A throw-away PostgreSQL server from the machine's server binaries, for tests and benchmarks.

    with TemporaryPostgres() as pg:
        url = pg.create_database("scratch")     # a SQLAlchemy URL (psycopg 3)

The server listens on a Unix socket in its own temporary folder only (no TCP port to clash
with). PostgreSQL refuses to run as root, so under root the binaries run as the ``postgres``
system user (``runuser``), which then owns the temporary folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg

RUN_AS = "postgres"
"""System user that runs the server when we are root (Debian's package creates it)."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """Folder of ``initdb`` and ``pg_ctl``: ``$EXPERIMENTER_PG_BIN``, Debian's newest
    ``/usr/lib/postgresql/*/bin``, or the ``PATH``."""
    if env := os.environ.get("EXPERIMENTER_PG_BIN"):
        return Path(env)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if debian:
        return Path(debian[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install them "
        "(apt-get install postgresql) or set EXPERIMENTER_PG_BIN to their folder"
    )


class TemporaryPostgres:
    """A PostgreSQL cluster in a temporary folder, started on ``start()``, removed on ``stop()``.

    ``durable=False`` (tests) turns fsync off for speed; benchmarks keep the defaults.
    """

    def __init__(self, *, durable: bool = False, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or find_bin_dir()
        self.durable = durable
        self.root: Path | None = None
        self._as_root = os.geteuid() == 0

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None, "start() the server first"
        return self.root

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", RUN_AS, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")

    def start(self) -> str:
        """Create and start the cluster; returns the URL of its ``postgres`` database."""
        self.root = Path(tempfile.mkdtemp(prefix="exp-pg-"))
        if self._as_root:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        options = [f"-k {self.root}", "-c listen_addresses=''", "-c max_connections=200"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w",
                  "-o", " ".join(options), "start")  # fmt: skip
        return self.url("postgres")

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(
            host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create ``name`` (a copy of ``template`` if given); returns its URL."""
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing any connection still open to it."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> TemporaryPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
