"""TensorBoard event files of a real daemon run, read back with TensorBoard's own reader, and
``experimenter decisions export`` read back by the replay backend (a replayed run asks the
same questions and gets the same answers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import SMALL, cli, db, env

import skills
from experimenter.commands_run import Run
from experimenter.events import EventLog, events_folder, metric_tag, skill_tag
from experimenter.planner.backends.replay import ReplayBackend
from experimenter.planner.record import read_decisions_file
from storage import decisions, metrics, runs

GOAL = "reach the red block"
RUN = ["--goal", GOAL, "--max-env-steps", "1200", "--collect-steps", "400", *SMALL]


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in ``folder``'s event files, as TensorBoard reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def run(home: Path, *args: str, replay: Path | None = None) -> str:
    extra = {"EXPERIMENTER_PLANNER_REPLAY_FILE": str(replay)} if replay else {}
    done = subprocess.run(
        [sys.executable, "-m", "experimenter", "run", "--data-dir", str(home), *args],
        capture_output=True, text=True, env={**env(), **extra}, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "finished: env step budget spent" in done.stdout, done.stdout + done.stderr
    return done.stdout


def test_tags_folders_and_the_flag() -> None:
    assert metric_tag("train_critic_loss") == "train/critic_loss"
    assert metric_tag("analyze_agreement") == "analyze/agreement"
    assert skill_tag("success", 3, "stack the red block on the blue block") == (
        "success/3_stack_the_red_block_on_the_blue_block"
    )
    assert skill_tag("success", 4, 'reach "the" red/block!') == "success/4_reach_the_red_block"
    home = Path("/data")
    assert events_folder(home, 7, "main", None) == home / "experiments/7/tensorboard"
    assert events_folder(home, 7, "seed 1/stack", Path("/tb")) == Path("/tb/seed_1_stack")
    assert Run().events() is True
    assert Run(tensorboard="off").events() is False
    assert Run(tensorboard="~/tb").events() == Path("~/tb").expanduser()
    with pytest.raises(ValueError, match="folder, or off"):
        Run(tensorboard=" ").events()


def test_an_event_log_without_a_folder_writes_nothing_and_a_failing_one_stops_quietly(
    tmp_path: Path,
) -> None:
    EventLog().scalars({"train/q": 1.0}, step=1)  # nothing to do, nothing raised
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    log = EventLog(blocked / "tensorboard")
    log.scalars({"train/q": 1.0}, step=1)  # the folder cannot be made: logged, not raised
    assert not log.enabled
    log.metrics({"train_q": 2.0}, step=2)
    log.close()


def test_a_rerun_appends_a_file_of_its_own_and_a_torn_last_record_loses_only_itself(
    tmp_path: Path,
) -> None:
    first = EventLog(tmp_path / "tb")
    first.metrics({"train_q": 1.0}, step=100)
    first.metrics({"train_q": 2.0}, step=200)
    first.close()
    (written,) = (tmp_path / "tb").iterdir()
    whole = written.read_bytes()
    # A crash in the middle of the last record: half of it reached the disk.
    second_record = EventLog(tmp_path / "other")
    second_record.metrics({"train_q": 3.0}, step=300)
    second_record.close()
    (other,) = (tmp_path / "other").iterdir()
    last = other.read_bytes()[-40:]
    written.write_bytes(whole + last[: len(last) // 2])
    again = EventLog(tmp_path / "tb", step=200)  # the next daemon run
    again.metrics({"train_q": 4.0}, step=300)
    again.planner(calls=1, tokens=10, dollars=0.5)  # at the newest step
    again.close()
    assert len(list((tmp_path / "tb").iterdir())) == 2
    series = scalars(tmp_path / "tb")
    assert series["train/q"] == [(100, 1.0), (200, 2.0), (300, 4.0)]
    assert series["planner/dollars"] == [(300, 0.5)]


@pytest.mark.slow
def test_a_daemon_run_writes_its_figures_for_tensorboard_and_its_decisions_replay(
    tmp_path: Path,
) -> None:
    home = tmp_path / "data"
    out = run(home, *RUN)
    folder = home / "experiments" / "1" / "tensorboard"
    assert f"TensorBoard: {folder}" in out
    series = scalars(folder)
    store = db(home)
    try:
        with store.reader() as s:
            exp = runs.find_experiment(s, name="main")
            assert exp is not None
            names = metrics.metric_names(s, experiment_id=exp.id)
            stored = {
                metric_tag(n): metrics.metric_points(s, experiment_id=exp.id, name=n) for n in names
            }
            goal = skills.find_skill(
                s, spec={"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]},
                experiment_id=exp.id,
            )  # fmt: skip
            assert goal is not None
            evaluations = skills.skill_detail(s, skill_id=goal.id).evaluations[::-1]
    finally:
        store.dispose()
    # The training losses and figures, as the metrics rows hold them, at increasing steps.
    for name in ("train/critic_loss", "train/actor_loss", "train/alpha", "train/q"):
        steps = [step for step, _ in series[name]]
        assert len(steps) == 3 and steps == sorted(set(steps)), (name, series[name])
    for name, points in stored.items():
        assert [st for st, _ in series[name]] == [st for st, _ in points], name
        assert [v for _, v in series[name]] == pytest.approx([v for _, v in points]), name
    # The goal's success rate against env steps, as evaluated.
    success = series[skill_tag("success", goal.id, GOAL)]
    assert [st for st, _ in success] == [e.env_steps for e in evaluations] == [400, 800, 1200]
    assert [v for _, v in success] == pytest.approx([e.success_rate for e in evaluations])
    assert skill_tag("return", goal.id, GOAL) in series
    # The planner's totals (offline: no calls, no dollars), never going back in steps.
    for name in ("planner/calls", "planner/dollars", "planner/tokens"):
        steps = [step for step, _ in series[name]]
        assert steps and steps == sorted(steps), series[name]
    assert {v for _, v in series["planner/dollars"]} == {0.0}

    # The decisions, exported to the file the replay backend reads ...
    answers_file = tmp_path / "decisions.jsonl"
    done = cli(home, "decisions", "export", "--experiment", "main", "--out", str(answers_file))
    assert done.returncode == 0, done.stdout + done.stderr
    answers = read_decisions_file(answers_file)
    assert answers and f"wrote {len(answers)} answers" in done.stdout
    replay = ReplayBackend.from_file(answers_file)
    assert len(replay.answers) == len(answers)
    # ... make a run with the replay backend, in a fresh data directory, ask the same
    # questions in the same order and get the same answers (and its events go to the
    # folder given).
    again = tmp_path / "again"
    tb = tmp_path / "tb"
    run(again, *RUN, "--planner", "replay", "--tensorboard", str(tb), replay=answers_file)
    store = db(again)
    try:
        with store.reader() as s:
            # An empty list of proposals from any backend but the offline one is followed
            # by the offline rules' own (recorded as such): not the replay's to answer.
            asked = [
                (d.kind, d.response, d.valid, d.error)
                for d in decisions.list_decisions(s, limit=10_000)
                if d.backend == "replay"
            ]
    finally:
        store.dispose()
    assert [(kind, response) for kind, response, _, _ in asked] == [
        (a.kind, a.response) for a in answers
    ]
    assert all(valid for _, _, valid, _ in asked), asked
    assert scalars(tb / "main")[skill_tag("success", goal.id, GOAL)] == success
    assert not (again / "experiments" / "1" / "tensorboard").exists()
