"""The dashboard's settings: one pydantic-settings class, every field ``EXPERIMENTER_<NAME>``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from settings import ServeSettings
from storage.runs import STALE_AFTER_S


class WebSettings(ServeSettings):
    """What ``experimenter serve`` resolves and hands to the dashboard (``ServeSettings``:
    where the data is, where it listens, the token every change needs), and what only the
    dashboard reads."""

    model_config = SettingsConfigDict(env_prefix="EXPERIMENTER_", extra="ignore")

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
