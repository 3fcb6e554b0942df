"""What every experimenter command reads from the environment besides where the data is
(``settings.DataSettings``) and how the planner asks (``EXPERIMENTER_PLANNER_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; every field can be set as ``EXPERIMENTER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="EXPERIMENTER_", extra="ignore")

    log_level: str = Field(default="INFO", description="Logging level; EXPERIMENTER_LOG_LEVEL.")
