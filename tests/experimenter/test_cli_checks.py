"""The daemon's commands refuse bad input in one line before storing anything, and say
what waits for a person and whether a daemon is really behind an experiment."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_helpers import db, env
from sqlalchemy import update

from experimenter.cli import main
from storage import commands, episodes, proposals, runs
from storage.models import Experiment

REACH = {"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]}


def _seed(home: Path) -> dict[str, int]:
    """Two experiments: ``main`` (running, two proposals waiting, one accepted) and
    ``other`` (one proposal waiting)."""
    d = db(home)
    with d.session() as s:
        main_exp = runs.create_experiment(s, name="main", planner_backend="offline")
        other = runs.create_experiment(s, name="other", planner_backend="offline")
        runs.set_experiment_status(s, experiment_id=main_exp.id, status="running")
        runs.heartbeat(s, experiment_id=main_exp.id)
        it = runs.start_iteration(s, experiment_id=main_exp.id)
        it = runs.start_iteration(s, experiment_id=main_exp.id)  # number 2

        def task(exp: int, text: str, status: str = "proposed") -> int:
            return proposals.record_task(
                s, spec=REACH, spec_hash=None, instruction=text, wording=f"{text}, please",
                reason=f"because {text}", status=status, experiment_id=exp,
                iteration_id=it.id if exp == main_exp.id else None,
            ).id  # fmt: skip

        ids = {
            "waiting": task(main_exp.id, "reach the red block"),
            "waiting2": task(main_exp.id, "reach the blue block"),
            "accepted": task(main_exp.id, "reach the green block", "accepted"),
            "elsewhere": task(other.id, "lift the red block"),
        }
    d.dispose()
    return ids


def _commands(home: Path) -> list[tuple[str, dict[str, object]]]:
    d = db(home)
    with d.reader() as s:
        out = [(c.kind, dict(c.payload)) for c in commands.list_commands(s)]
    d.dispose()
    return out


def _experiments(home: Path) -> list[tuple[str, str, dict[str, object]]]:
    d = db(home)
    with d.reader() as s:
        out = [(e.name, e.planner_backend, dict(e.config)) for e in runs.list_experiments(s)]
    d.dispose()
    return out


@pytest.mark.parametrize(
    ("args", "environ", "says"),
    [
        (["--planner", "bogus"], {}, "unknown planner backend 'bogus'; allowed: gemini, offline"),
        (["--max-training", "11"], {}, "max_training: Input should be less than or equal to 10"),
        (["--goal", "juggle the red block"], {}, "'juggle the red block' is not understood"),
        ([], {"EXPERIMENTER_PLANNER_BACKEND": "bogus"}, "unknown planner backend 'bogus'"),
        (["--planner", "replay"], {}, "the replay backend needs a decisions file"),
        (["--bc-weight", "-1"], {}, "bc_weight: Input should be greater than or equal to 0"),
        (["--demo-fraction", "2"], {}, "demo_fraction: Input should be less than or equal to 1"),
        (["--success-weight", "-0.5"], {}, "success_weight: Input should be greater than or equal"),
        (
            ["--goal-threshold", "1.5"],
            {},
            "goal_threshold: Input should be less than or equal to 1",
        ),
    ],
)
def test_bad_run_options_are_refused_before_anything_is_stored(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    environ: dict[str, str],
    says: str,
) -> None:
    for k, v in environ.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("EXPERIMENTER_PLANNER_REPLAY_FILE", raising=False)
    home = tmp_path / "fresh"
    code = main(["run", "--data-dir", str(home), "--no-progress", "--experiment", "new", *args])
    err = capsys.readouterr().err
    assert code == 2 and says in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (home / "experimenter.db").exists()  # nothing was stored, not even a schema

    # An experiment stored before stays exactly as it was.
    _seed(tmp_path / "kept")
    before = _experiments(tmp_path / "kept")
    code = main(["run", "--data-dir", str(tmp_path / "kept"), "--no-progress", *args])
    assert code == 2 and says in capsys.readouterr().err
    assert _experiments(tmp_path / "kept") == before


def test_a_given_planner_wins_over_the_environment_and_the_environment_over_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPERIMENTER_PLANNER_BACKEND", "offline")
    code = main(["run", "--data-dir", str(tmp_path), "--planner", "bogus", "--no-progress"])
    assert code == 2 and "unknown planner backend 'bogus'" in capsys.readouterr().err
    monkeypatch.setenv("EXPERIMENTER_PLANNER_BACKEND", "gemini")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("EXPERIMENTER_PLANNER_GEMINI_API_KEY", raising=False)
    code = main(["run", "--data-dir", str(tmp_path), "--no-progress"])  # not the offline default
    assert code == 2 and "the gemini backend needs an API key" in capsys.readouterr().err
    assert not (tmp_path / "experimenter.db").exists()


def test_pause_cannot_queue_a_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["pause", "--data-dir", str(tmp_path), "--kind", "stop"])
    assert e.value.code == 2 and "--kind" in capsys.readouterr().err
    assert main(["pause", "--data-dir", str(tmp_path)]) == 0
    assert [kind for kind, _ in _commands(tmp_path)] == ["pause"]


def test_approve_and_reject_check_the_task_before_queueing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _seed(tmp_path)
    home = ["--data-dir", str(tmp_path)]
    refused = [
        (["approve", "999"], "no task with id 999"),
        (["reject", str(ids["accepted"])], f"task {ids['accepted']} is accepted, not awaiting"),
        (
            ["approve", str(ids["elsewhere"])],
            f"task {ids['elsewhere']} belongs to experiment 'other', not 'main'; "
            "add --experiment other",
        ),
    ]
    for args, says in refused:
        assert main([*args, *home]) == 2, args
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
    assert _commands(tmp_path) == []  # nothing was queued

    assert main(["approve", str(ids["waiting"]), "--reason", "next rung", *home]) == 0
    assert "queued approve" in capsys.readouterr().out
    assert main(["reject", str(ids["waiting"]), *home]) == 2  # one decision per proposal
    assert "has a approve queued already" in capsys.readouterr().err
    assert main(["approve", str(ids["elsewhere"]), "--experiment", "other", *home]) == 0
    assert _commands(tmp_path) == [
        ("approve", {"task_id": ids["elsewhere"], "reason": ""}),
        ("approve", {"task_id": ids["waiting"], "reason": "next rung"}),
    ]  # newest first


def test_proposals_lists_what_waits_for_review_and_status_counts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _seed(tmp_path)
    assert main(["proposals", "--data-dir", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["proposals"]
    assert [(r["id"], r["experiment"], r["iteration"]) for r in rows] == [
        (ids["waiting"], "main", 2),
        (ids["waiting2"], "main", 2),
        (ids["elsewhere"], "other", None),
    ]
    assert rows[0]["wording"] == "reach the red block, please"
    assert rows[0]["reason"] == "because reach the red block"

    assert main(["proposals", "--data-dir", str(tmp_path), "--experiment", "other"]) == 0
    out = capsys.readouterr().out
    assert "lift the red block" in out and "reach the red block" not in out

    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 0
    status = {r["name"]: r for r in json.loads(capsys.readouterr().out)["experiments"]}
    assert status["main"]["proposals_waiting"] == 2 and status["other"]["proposals_waiting"] == 1
    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    assert "experimenter proposals" in capsys.readouterr().out


def test_status_says_stale_when_the_heartbeat_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(tmp_path)
    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 0
    fresh = json.loads(capsys.readouterr().out)["experiments"][0]
    assert fresh["status"] == "running" and fresh["stale"] is False  # beat just now

    d = db(tmp_path)  # the daemon died five minutes ago
    with d.session() as s:
        old = datetime.now(UTC) - timedelta(minutes=5)
        s.execute(update(Experiment).where(Experiment.name == "main").values(heartbeat_at=old))
    d.dispose()
    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.split()[:2] == ["1", "main"])
    assert row.split()[2] == "stale", out
    assert (
        "experiment 1 (main): stale (no heartbeat for 5 min; the daemon may have crashed: "
        "run the same command again to resume)"
    ) in out
    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 0
    stale = json.loads(capsys.readouterr().out)["experiments"][0]
    assert stale["stale"] is True and stale["state"].startswith("stale (no heartbeat for 5 min")


def test_status_lists_the_workers_that_collected_and_their_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(tmp_path)
    d = db(tmp_path)
    with d.session() as s:
        [main_exp, other] = runs.list_experiments(s)
        # experiment env step of the round, worker, episodes, steps each
        for env_step, worker, n, steps in [
            (0, "inprocess", 2, 30),  # a first run without Ray
            (0, "a1b2c3d4e5f6/0123456789ab", 1, 100),
            (400, "0f0f0f0f0f0f/cafecafecafe", 3, 50),
            (800, "a1b2c3d4e5f6/0123456789ab", 1, 100),
            (800, None, 1, 70),  # written before workers were recorded: not anyone's
        ]:
            for _ in range(n):
                episodes.record_episode(
                    s, steps=steps, total_return=1.0, success=False, experiment_id=main_exp.id,
                    env_step=env_step, worker=worker,
                )  # fmt: skip
        # An evaluation collects nothing: not part of any worker's share.
        episodes.record_episode(
            s, steps=60, total_return=1.0, success=True, purpose="evaluate",
            experiment_id=main_exp.id, worker="a1b2c3d4e5f6/0123456789ab",
        )  # fmt: skip
        for _ in range(4):
            episodes.record_episode(
                s, steps=25, total_return=0.0, success=False, experiment_id=other.id,
                env_step=0, worker="inprocess",
            )  # fmt: skip
    d.dispose()

    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("experiment 1 (main) workers:")
    assert out[at + 1 : at + 5] == [
        "  node a1b2c3d4e5f6 actor 0123456789ab: 2 episodes, 200 env steps, "
        "newest round at env step 800",
        "  node 0f0f0f0f0f0f actor cafecafecafe: 3 episodes, 150 env steps, "
        "newest round at env step 400",
        "  local (in process): 2 episodes, 60 env steps, newest round at env step 0",
        "experiment 2 (other) workers: in process only (4 episodes, 100 env steps)",
    ]

    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 0
    status = {r["name"]: r for r in json.loads(capsys.readouterr().out)["experiments"]}
    assert status["main"]["workers"] == [
        {"worker": "a1b2c3d4e5f6/0123456789ab", "node": "a1b2c3d4e5f6", "actor": "0123456789ab",
         "episodes": 2, "env_steps": 200, "last_env_step": 800},
        {"worker": "0f0f0f0f0f0f/cafecafecafe", "node": "0f0f0f0f0f0f", "actor": "cafecafecafe",
         "episodes": 3, "env_steps": 150, "last_env_step": 400},
        {"worker": "inprocess", "node": "local", "actor": None, "episodes": 2, "env_steps": 60,
         "last_env_step": 0},
    ]  # fmt: skip
    assert status["other"]["workers"] == [
        {"worker": "inprocess", "node": "local", "actor": None, "episodes": 4, "env_steps": 100,
         "last_env_step": 0},
    ]  # fmt: skip


def test_status_prints_no_workers_before_anything_is_collected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(tmp_path)
    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    assert "workers" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://me:s3cret@127.0.0.1:1/exp", "port 1 failed: Connection refused"),
        ("postgresql://me:s3cret@no-such-host.invalid/exp", "failed to resolve host"),
    ],
)
def test_an_unreachable_database_is_one_line_without_the_password(url: str, says: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "experimenter", "status", "--db-url", url],
        capture_output=True, text=True, env=env(), timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("experimenter: cannot open the database postgresql://me:***@")
    assert says in lines[0] and "s3cret" not in r.stderr
