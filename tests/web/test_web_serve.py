"""``experimenter serve``: the real command starts the dashboard on loopback and says how to
change things."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from experimenter.commands_serve import Serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(args: list[str], env: dict[str, str], port: int) -> str:
    """``experimenter serve ARGS`` until the dashboard answers on ``port``; its output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "experimenter", "serve", *args], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/experiments") as r:
                    assert r.status == 200 and b"No experiments yet" in r.read()
                    break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not answer in 30 s"
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    return out


def test_serve_starts_the_dashboard_and_prints_the_token(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "EXPERIMENTER_TOKEN"}
    out = _serve(["--data-dir", str(tmp_path), "--port", str(port)], env, port)
    assert f"http://127.0.0.1:{port}/experiments" in out
    assert "this session's is" in out and "export EXPERIMENTER_TOKEN=" in out
    assert (tmp_path / "experimenter.db").exists()


def test_serve_listens_where_the_environment_says_unless_told_otherwise(tmp_path: Path) -> None:
    """EXPERIMENTER_HOST and EXPERIMENTER_PORT are the defaults of --host and --port, as
    EXPERIMENTER_HOME is of --data-dir (so that `EXPERIMENTER_PORT=8001 make run` works)."""
    port = _free_port()
    env = {
        **os.environ, "EXPERIMENTER_HOME": str(tmp_path), "EXPERIMENTER_HOST": "127.0.0.1",
        "EXPERIMENTER_PORT": str(port), "EXPERIMENTER_TOKEN": "a-token-chosen-by-the-person",
    }  # fmt: skip
    env.pop("EXPERIMENTER_DB_URL", None)
    out = _serve([], env, port)
    assert f"http://127.0.0.1:{port}/experiments" in out
    assert "need EXPERIMENTER_TOKEN" in out and "this session's is" not in out
    assert (tmp_path / "experimenter.db").exists()
    # Given options win over the variables.
    served = Serve(port=port + 1, data_dir=tmp_path / "given")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        settings = served.served()
    assert (settings.port, settings.home) == (port + 1, tmp_path / "given")
    assert settings.token is not None
    assert settings.token.get_secret_value() == "a-token-chosen-by-the-person"
