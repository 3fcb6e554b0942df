"""``experimenter serve``: the web dashboard over the database and artifact store.

The dashboard is its own package (``web``), which the experimenter never imports: uvicorn
loads it by name (``web.app:create_app``) in this process, configured through the same
``EXPERIMENTER_*`` environment variables every entry point reads.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

from pydantic import Field

from experimenter.commands_db import DatabaseOptions
from experimenter.config import Settings

APP = "web.app:create_app"
"""The dashboard's application factory, loaded by uvicorn."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Serve(DatabaseOptions):
    """Serve the web dashboard: review experiments, skills, decisions; approve and steer."""

    host: str = Field("127.0.0.1", description="Address to listen on (loopback by default).")
    port: int = Field(8000, ge=1, le=65535, description="Port to listen on.")
    workers: int = Field(
        1, ge=1, le=64, description="Server processes (more add ~40 ms a response: README)."
    )

    def cli_cmd(self) -> None:
        import uvicorn

        settings = Settings()
        db = self.open()  # migrate once, here, and fail early on a bad URL
        where = db.engine.url.render_as_string(hide_password=True)
        db.dispose()
        # uvicorn's worker processes build the dashboard from the environment: hand them the
        # place these options name.
        os.environ.update(self.data().environment())
        token = os.environ.get("EXPERIMENTER_TOKEN")
        url = f"http://{self.host}:{self.port}"
        print(f"dashboard: {url}/experiments  (database {where})", flush=True)
        if token:
            print(
                "changes (approve, reject, goal, pause, resume, stop) need EXPERIMENTER_TOKEN",
                flush=True,
            )
        else:
            token = secrets.token_urlsafe(18)
            os.environ["EXPERIMENTER_TOKEN"] = token
            print(
                "changes (approve, reject, goal, pause, resume, stop) need a token; "
                f"this session's is {token}\n"
                "  to choose your own: export EXPERIMENTER_TOKEN=<a long random string>",
                flush=True,
            )
        if not _loopback(self.host):
            print(f"warning: listening on {self.host}: anyone who can reach it can read it")
        uvicorn.run(
            APP,
            factory=True,
            host=self.host,
            port=self.port,
            workers=self.workers,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
