"""The daemon learns a skill end to end with the offline planner, and records why.

A user's view: ``experimenter run --goal "reach the red block" --seed-skills none`` on a
small budget ends with the goal learned, its evaluations and status changes stored, every
planner call recorded, and ``experimenter status`` reporting it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

import skills
from experimenter.cli import main
from storage import decisions, episodes, open_database, runs
from storage.models import SkillStatusChange

pytestmark = pytest.mark.slow

LEARNER = [
    "--hidden", "128", "--hidden", "128", "--batch-size", "128", "--episode-steps", "40",
    "--num-envs", "8", "--random-steps", "1000", "--updates-per-step", "1.0",
    "--collect-steps", "1280", "--eval-episodes", "10", "--no-progress",
]  # fmt: skip


def test_offline_run_learns_reach_and_records_everything(tmp_path: Path, capsys) -> None:
    import torch

    torch.set_num_threads(1)
    home = tmp_path / "data"
    rc = main([
        "run", "--data-dir", str(home), "--goal", "reach the red block", "--seed-skills", "none",
        "--max-training", "1", "--threshold", "0.7", "--max-env-steps", "25000",
        "--video-every", "2", *LEARNER,
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "finished: goal learned: reach the red block" in out, out
    assert "iteration 1:" in out  # a summary line per iteration

    db = open_database(home=home)
    with db.reader() as s:
        exp = runs.find_experiment(s, name="main")
        assert exp is not None and exp.status == "finished"
        exp_id = exp.id
        reach = skills.find_skill(  # the experiment's own skill
            s,
            spec={"stages": [{"all": [{"pred": "reach", "args": ["red"]}]}]},
            experiment_id=exp_id,
        )
        assert reach is not None and reach.status == "learned" and reach.kind == "learned"
        assert reach.success_rate is not None and reach.success_rate >= 0.7
        history = list(
            s.scalars(select(SkillStatusChange).where(SkillStatusChange.skill_id == reach.id))
        )
        assert [h.to_status for h in history] == ["proposed", "training", "learned"]
        promoted = history[-1]
        assert promoted.decided_by == "planner" and promoted.decision_id is not None
        assert "measured" in promoted.reason  # the numbers are quoted with the verdict
        detail = skills.skill_detail(s, skill_id=reach.id, evaluations=100)
        assert len(detail.evaluations) >= 2
        kinds = {d.kind for d in decisions.list_decisions(s, experiment_id=exp.id)}
        assert kinds == {"analyze", "propose", "decompose"}
        iterations = runs.count_iterations(s, experiment_id=exp.id)
        assert iterations == len(detail.evaluations)  # one evaluation per iteration
        assert episodes.latest_checkpoint(s, experiment_id=exp.id) is not None
        # Every second iteration leaves a video of the skill for the dashboard.
        videos = episodes.count_episodes(s, experiment_id=exp.id, purpose="evaluate")
        assert videos == iterations // 2
        collected = episodes.count_episodes(s, experiment_id=exp.id) - videos
        assert collected * 40 == exp.env_steps_used  # every collected episode recorded
    db.dispose()

    assert main(["status", "--data-dir", str(home), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)["experiments"][0]
    assert status["status"] == "finished" and status["skills"]["learned"] == 1
    assert status["node"] == "finish" and status["daemon"] is False

    # Running it again does nothing more: the goal is learned.
    assert main(["run", "--data-dir", str(home), *LEARNER]) == 0
    assert "goal learned" in capsys.readouterr().out
    with open_database(home=home).reader() as s:
        assert runs.count_iterations(s, experiment_id=exp_id) == iterations
