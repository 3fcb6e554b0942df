"""Where the data lives and how the dashboard is served: read from the environment once,
where a process starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DataSettings(BaseSettings):
    """The data directory and the database: ``EXPERIMENTER_HOME`` and ``EXPERIMENTER_DB_URL``
    are read here and nowhere else. A command's ``--data-dir`` and ``--db-url`` win over them,
    the dashboard inherits them."""

    model_config = SettingsConfigDict(env_prefix="EXPERIMENTER_", extra="ignore")

    home: Path = Field(
        default=Path("data"),
        description="Data directory: database, artifacts, checkpoints (EXPERIMENTER_HOME).",
    )
    db_url: str | None = Field(
        default=None,
        description="Database URL, e.g. postgresql://user@host/db (EXPERIMENTER_DB_URL; default: "
        "the SQLite file <home>/experimenter.db).",
    )

    def environment(self) -> dict[str, str]:
        """These settings as the ``EXPERIMENTER_*`` variables that read them back: how a
        process hands them to the processes it starts."""
        prefix = self.model_config.get("env_prefix", "")
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value: Any = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            out[f"{prefix}{name}".upper()] = str(value)
        return out


class ServeSettings(DataSettings):
    """What ``experimenter serve`` serves the dashboard with: where the data is, where to
    listen (``EXPERIMENTER_HOST``, ``EXPERIMENTER_PORT``) and the token every change needs
    (``EXPERIMENTER_TOKEN``). ``serve``'s ``--host`` and ``--port`` win over the variables;
    the dashboard's own settings (``web.config.WebSettings``) inherit these."""

    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on (loopback by default); EXPERIMENTER_HOST.",
    )
    port: int = Field(
        default=8000, ge=1, le=65535, description="Port to listen on; EXPERIMENTER_PORT."
    )
    token: SecretStr | None = Field(
        default=None,
        description="Token required for every change (approve, reject, goal, pause, resume, "
        "stop); EXPERIMENTER_TOKEN. Unset: `experimenter serve` makes one for the session.",
    )
