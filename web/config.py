"""The dashboard's settings: one pydantic-settings class, every field ``EXPERIMENTER_<NAME>``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from settings import DataSettings
from storage.runs import STALE_AFTER_S


class WebSettings(DataSettings):
    """Where the data is (``DataSettings``: ``EXPERIMENTER_HOME``, ``EXPERIMENTER_DB_URL``),
    where to listen, and the token that guards every change."""

    model_config = SettingsConfigDict(env_prefix="EXPERIMENTER_", extra="ignore")

    token: SecretStr | None = Field(
        default=None,
        description="Token required for every change (approve, reject, goal, pause, resume, "
        "stop); EXPERIMENTER_TOKEN. Unset: `experimenter serve` makes one for the session.",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port to listen on.")
    page_size: int = Field(default=50, ge=1, le=1000, description="Rows per page by default.")
    poll_seconds: float = Field(
        default=3.0, gt=0, description="How often live pages refresh their figures (seconds)."
    )
    cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long an anonymous GET answer (page, API list, chart) is served again "
        "to others before it is rendered anew (seconds; 0: never). Signed-in viewers and "
        "token-carrying API calls always get a fresh answer, and any change empties the cache; "
        "EXPERIMENTER_CACHE_SECONDS.",
    )
    alive_seconds: float = Field(
        default=STALE_AFTER_S,
        gt=0,
        description="A running or paused experiment whose heartbeat is older than this "
        "(seconds) is shown as stale: its daemon crashed or was killed (as `experimenter "
        "status` says); EXPERIMENTER_ALIVE_SECONDS.",
    )
