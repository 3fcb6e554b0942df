"""``experimenter db ...``: the database itself."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliSubCommand

from settings import DataSettings

if TYPE_CHECKING:
    from storage import Database


class DatabaseOptions(BaseModel):
    """Where the database is: shared by every command that opens it."""

    data_dir: Path | None = Field(
        None, description="Data directory (default: EXPERIMENTER_HOME or ./data)."
    )
    db_url: str | None = Field(
        None,
        description="Database URL, e.g. postgresql://user@host/db (default: EXPERIMENTER_DB_URL, "
        "else the SQLite file <data dir>/experimenter.db).",
    )

    def data(self) -> DataSettings:
        """Where the data is: these options, else ``EXPERIMENTER_HOME`` and
        ``EXPERIMENTER_DB_URL``, else ``./data`` and its SQLite file."""
        given: dict[str, Any] = {"home": self.data_dir, "db_url": self.db_url}
        return DataSettings(**{k: v for k, v in given.items() if v is not None})

    def open(self, *, migrate: bool = True) -> Database:
        """The database these options name, migrated to the newest schema; one line
        (``DatabaseUnavailable``) when it cannot be reached."""
        from sqlalchemy.exc import SQLAlchemyError

        from storage import open_database  # SQLAlchemy only for commands that need it

        where = self.data()
        # Alembic reports every step at INFO; the command says what happened itself.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            db = open_database(home=where.home, db_url=where.db_url, migrate=migrate)
            if not migrate:
                with db.engine.connect():
                    pass  # reached now, not half-way through the command
        except (SQLAlchemyError, ImportError, OSError) as e:
            raise DatabaseUnavailable(_shown(where.home, where.db_url), e) from None
        return db


class DatabaseUnavailable(ValueError):
    """The database cannot be opened: one line naming it (never its password) and why."""

    def __init__(self, where: str, cause: BaseException) -> None:
        super().__init__(f"cannot open the database {where}: {_cause(cause)}")


def _shown(home: Path, url: str | None) -> str:
    """The database's URL with the password hidden (the URL as given if it does not parse)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from storage.database import database_url

    try:
        return make_url(url or database_url(home=home)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return repr(re.sub(r"(://[^:/@]*:).*@", r"\1***@", url or ""))


def _cause(e: BaseException) -> str:
    """What went wrong, in one line: the driver's message rather than SQLAlchemy's wrapping."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    if isinstance(e, DBAPIError) and e.orig is not None:
        text = str(e.orig)
    elif isinstance(e, NoSuchModuleError | ImportError):
        text = f"{e}; supported: sqlite:///PATH and postgresql://USER@HOST/DB URLs"
    elif isinstance(e, ArgumentError):
        text = f"{e}; e.g. postgresql://USER:PASSWORD@HOST:5432/DB or sqlite:///PATH"
    else:
        text = str(e) or type(e).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


class DbUpgrade(DatabaseOptions):
    """Apply the schema migrations (also done automatically whenever a command opens it)."""

    def cli_cmd(self) -> None:
        db = self.open(migrate=False)
        from storage.migrate import current_revision, head_revision  # after open(): quiet logs

        try:
            applied = db.upgrade()
            where = db.engine.url.render_as_string(hide_password=True)
            if applied:
                print(f"{where}: applied {', '.join(applied)}; now at {head_revision()}")
            else:
                print(f"{where}: already at the newest revision {current_revision(db.engine)}")
        finally:
            db.dispose()


class Db(BaseModel):
    """The experimenter's database (SQLite by default, PostgreSQL by URL)."""

    upgrade: CliSubCommand[DbUpgrade]

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)
