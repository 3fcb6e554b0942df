"""Settings read at the edges: the data directory and anything from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; every field can be set as ``EXPERIMENTER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="EXPERIMENTER_", extra="ignore")

    home: Path = Field(
        default=Path("data"),
        description="Data directory (database, artifacts, videos); EXPERIMENTER_HOME.",
    )
    log_level: str = Field(default="INFO", description="Logging level; EXPERIMENTER_LOG_LEVEL.")
    db_url: str | None = Field(
        default=None,
        description="Database URL (e.g. postgresql://user@host/db); default: the SQLite file "
        "<home>/experimenter.db; EXPERIMENTER_DB_URL.",
    )
