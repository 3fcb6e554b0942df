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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_the_dashboard_and_prints_the_token(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "EXPERIMENTER_TOKEN"}
    cmd = [sys.executable, "-m", "experimenter", "serve", "--data-dir", str(tmp_path)]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
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
    assert f"http://127.0.0.1:{port}/experiments" in out
    assert "this session's is" in out and "export EXPERIMENTER_TOKEN=" in out
    assert (tmp_path / "experimenter.db").exists()
