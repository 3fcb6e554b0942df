"""``experimenter db ...``: the database itself."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliSubCommand

from experimenter.config import Settings

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

    def open(self, *, migrate: bool = True) -> Database:
        """The database these options name, migrated to the newest schema."""
        from storage import open_database  # SQLAlchemy only for commands that need it

        settings = Settings()
        # Alembic reports every step at INFO; the command says what happened itself.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        return open_database(
            home=self.data_dir or settings.home,
            db_url=self.db_url or settings.db_url,
            migrate=migrate,
        )


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
