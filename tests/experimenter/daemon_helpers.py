"""Running the real ``experimenter`` CLI as a child process, and reading what it stored."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from storage import Database, open_database

SMALL = [
    "--hidden", "32", "--hidden", "32", "--batch-size", "64", "--episode-steps", "20",
    "--num-envs", "4", "--random-steps", "160", "--eval-episodes", "4", "--no-progress",
    "--video-every", "0",
]  # fmt: skip
"""A learner small enough to make iterations quick (learning is not what these test)."""


def env() -> dict[str, str]:
    return {**os.environ, "MUJOCO_GL": "egl", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    """``experimenter run --data-dir home ARGS`` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "experimenter", "run", "--data-dir", str(home), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(),
    )  # fmt: skip


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "experimenter", *args, "--data-dir", str(home)],
        capture_output=True, text=True, env=env(), timeout=timeout,
    )  # fmt: skip


def wait_for(check: Callable[[], bool], timeout: float, proc: subprocess.Popen[str]) -> None:
    """Poll ``check`` until it holds; fail with the child's output if it exits or times out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"daemon exited with {proc.returncode} too early:\n{out}")
        time.sleep(0.1)
    proc.kill()
    out = proc.stdout.read() if proc.stdout else ""
    raise AssertionError(f"timed out waiting; daemon output:\n{out}")


def db(home: Path) -> Database:
    return open_database(home=home)
