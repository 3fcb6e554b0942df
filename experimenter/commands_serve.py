"""``experimenter serve``: the web dashboard over the database and artifact store.

The dashboard is its own package (``web``), which the experimenter never imports: uvicorn
loads it by name (``web.app:create_app``), in this process or in worker processes, and the
app reads its settings from the environment. So ``serve`` resolves ``ServeSettings`` once
(its options, else the ``EXPERIMENTER_*`` variables, else the defaults) and hands them on as
the variables that read them back.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

from pydantic import Field, SecretStr

from experimenter.commands_db import DatabaseOptions
from experimenter.config import Settings
from experimenter.flags import flag
from settings import ServeSettings

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

    host: str = flag(ServeSettings, "host")
    port: int = flag(ServeSettings, "port")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes (more than one added ~44 ms to every response: "
        "benchmarks/README.md, Dashboard latency).",
    )

    def served(self) -> ServeSettings:
        """What the dashboard is served with: these options, else the ``EXPERIMENTER_*``
        variables, else the defaults."""
        data = self.data()
        given = self.model_dump(include=self.model_fields_set & {"host", "port"})
        return ServeSettings(home=data.home, db_url=data.db_url, **given)

    def cli_cmd(self) -> None:
        import uvicorn

        served = self.served()
        db = self.open()  # migrate once, here, and fail early on a bad URL
        where = db.engine.url.render_as_string(hide_password=True)
        db.dispose()
        url = f"http://{served.host}:{served.port}"
        print(f"dashboard: {url}/experiments  (database {where})", flush=True)
        if served.token:
            print(
                "changes (approve, reject, goal, pause, resume, stop) need EXPERIMENTER_TOKEN",
                flush=True,
            )
        else:
            token = secrets.token_urlsafe(18)
            served = served.model_copy(update={"token": SecretStr(token)})
            print(
                "changes (approve, reject, goal, pause, resume, stop) need a token; "
                f"this session's is {token}\n"
                "  to choose your own: export EXPERIMENTER_TOKEN=<a long random string>",
                flush=True,
            )
        if not _loopback(served.host):
            print(f"warning: listening on {served.host}: anyone who can reach it can read it")
        # Every worker builds the dashboard from the environment: the same place and token.
        os.environ.update(served.environment())
        uvicorn.run(
            APP,
            factory=True,
            host=served.host,
            port=served.port,
            workers=self.workers,
            log_level=Settings().log_level.lower(),
            access_log=False,
        )
