"""``experimenter launch``: experiments at once as Ray tasks on a real local cluster, each a
normal daemon on the shared SQLite data directory; bad input refused before Ray starts; Ctrl-C
stops every daemon at a safe point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_helpers import SMALL, db, env

from experimenter.cli import main
from experimenter.commands_launch import Launch
from storage import episodes, runs

REACH = "reach the red block"
NAMES = [f"launch-reach-the-red-block-offline-seed{s}" for s in (0, 1)]


def launch(home: Path, *args: str) -> subprocess.Popen[str]:
    """``experimenter launch`` on a local cluster (``--ray-address none``) in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "experimenter", "launch", "--data-dir", str(home),
         "--ray-address", "none", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(),
    )  # fmt: skip


def experiments(home: Path) -> dict[str, tuple[str, int, int, int]]:
    """Each experiment: its status, finished iterations, env steps in its collected episodes
    and env steps used."""
    database = db(home)
    try:
        with database.reader() as s:
            return {
                e.name: (
                    e.status,
                    runs.count_iterations(s, experiment_id=e.id),
                    episodes.collected_steps(s, experiment_id=e.id),
                    e.env_steps_used,
                )
                for e in runs.list_experiments(s)
            }
    finally:
        database.dispose()


@pytest.mark.slow
def test_two_experiments_run_at_once_on_one_data_dir_and_both_finish(tmp_path: Path) -> None:
    home = tmp_path / "data"
    proc = launch(
        home, "--seeds", "0", "--seeds", "1", "--goal", REACH, "--",
        "--seed-skills", "none", "--max-env-steps", "2000", "--collect-steps", "1000", *SMALL,
    )  # fmt: skip
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    for name in NAMES:
        assert f"{name}: started on " in out, out
        assert f"{name}: exit 0 (finished: env step budget spent" in out, out
    assert "2 of 2 experiments exited 0" in out, out
    found = experiments(home)
    assert sorted(found) == NAMES
    for name in NAMES:
        status, iterations, collected, used = found[name]
        assert status == "finished" and iterations >= 2, (name, found[name])
        assert collected == used >= 2000, (name, found[name])  # every episode recorded once


@pytest.mark.slow
def test_ctrl_c_stops_every_daemon_at_a_safe_point(tmp_path: Path) -> None:
    """Two of three experiments run on the two CPUs: SIGINT reaches both daemons through
    ray.cancel (each stops at a safe point, exit 0), and the third never starts."""
    home = tmp_path / "data"
    proc = launch(
        home, "--seeds", "0,1,2", "--goal", REACH, "--cpus-per-experiment", "1", "--",
        "--seed-skills", "none", "--max-env-steps", "1000000", "--collect-steps", "320",
        # No finite evaluation's lower bound reaches 1: the goal is never learned, so the
        # daemons are still running when the interrupt comes (reach was learned first once).
        "--goal-threshold", "1", *SMALL,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    end = time.monotonic() + 300
    while sum(": started on " in line for line in lines) < 2 and time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    started = [line.split(":")[0] for line in lines if ": started on " in line]
    assert len(started) == 2, "".join(lines)
    # Stopped once each daemon has something to save (a stop before that is as safe).
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if home.exists() and all(n in experiments(home) for n in started):
            break
        time.sleep(0.5)
    time.sleep(5)
    os.kill(proc.pid, signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()  # and its daemons, which would otherwise run on
        out, _ = proc.communicate()
        subprocess.run(["pkill", "-9", "-f", str(home)], check=False)
        raise AssertionError("launch did not stop:\n" + "".join(lines) + out) from None
    out = "".join(lines) + out
    assert proc.returncode == 0, out
    assert "SIGINT: stopping 3 experiments at their next safe point" in out, out
    for name in started:
        assert f"{name}: exit 0 (stopped: signal SIGINT" in out, out
    (unstarted,) = {f"launch-reach-the-red-block-offline-seed{s}" for s in (0, 1, 2)} - set(started)
    assert f"{unstarted}: not started (stopped)" in out, out
    found = experiments(home)
    assert sorted(found) == sorted(started)
    assert all(found[name][0] == "stopped" for name in started), found


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting or joining a Ray cluster fails the test."""
    try:
        import ray
    except ImportError:
        return

    def init(*_: object, **__: object) -> None:
        raise AssertionError("Ray was started")

    monkeypatch.setattr(ray, "init", init)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--goal", "fly to the moon"], "--goal 'fly to the moon': 'fly to the moon' is not "),
        (["--seeds", "0", "1"], "unexpected '1': several seeds are --seeds 0 --seeds 1"),
        (["--seeds", "0", "--seeds", "0"], "--seeds 0 given more than once"),
        (["--planner", "nope"], "--planner nope: unknown planner backend 'nope'"),
        (["--", "--seed", "3"], "--seed after --: the launcher sets it for each experiment"),
        (["--", "--max-env-steps", "0"], "the options after --: --max-env-steps: Input should"),
        (["--", "--bogus"], "the options after --: unrecognized arguments: --bogus"),
        (["--ray-address", "nowhere"], "--ray-address must be auto, HOST:PORT"),
    ],
)
def test_bad_input_is_refused_in_one_line_before_ray_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_ray: None,
    args: list[str],
    says: str,
) -> None:
    home = tmp_path / "data"
    assert main(["launch", "--data-dir", str(home), *args]) == 2
    out, err = capsys.readouterr()
    assert says in err and err.count("\n") == 1, err
    assert "launching" not in out
    assert not home.exists()  # nothing stored


def test_every_seed_and_goal_is_one_experiment_with_the_same_run_options(
    tmp_path: Path,
) -> None:
    lift = '{"stages": [{"all": [{"pred": "lifted", "args": ["red"]}]}]}'
    options = Launch(
        data_dir=tmp_path, seeds=[0, 7], goal=[REACH, lift], name_prefix="arm",
        run_args=["--max-env-steps", "500", "--hidden", "32", "--hidden", "32"],
    )  # fmt: skip
    planned = options.planned()
    assert [p.name for p in planned] == [
        "arm-reach-the-red-block-offline-seed0", "arm-lift-the-red-block-offline-seed0",
        "arm-reach-the-red-block-offline-seed7", "arm-lift-the-red-block-offline-seed7",
    ]  # fmt: skip
    assert planned[1].args == [
        "--experiment", "arm-lift-the-red-block-offline-seed0", "--seed", "0", "--goal", lift,
        "--planner", "offline", "--data-dir", str(tmp_path.absolute()), "--no-progress",
        "--max-env-steps", "500", "--hidden", "32", "--hidden", "32",
    ]  # fmt: skip
    assert not any(p.join_cluster for p in planned)
    assert not any(tmp_path.iterdir())  # checking stores nothing
