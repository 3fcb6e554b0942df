"""``experimenter skills export-policy``: a learned skill's policy as a torch.export file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import skills as lib
from controllers.layout import SceneConfig
from controllers.learner.export import load_exported
from experimenter.cli import main
from experimenter.graph.roster import seed_library
from experimenter.learner_store import LearnerStore, learner_dir
from settings import LearnerConfig
from storage import open_database, runs
from tasks import as_task

LAYOUT = SceneConfig().layout()
SMALL = LearnerConfig(
    hidden=(32, 32), batch_size=32, episode_steps=20, num_envs=2, random_steps=40,
    buffer_capacity=2_000, buffer_chunk=500,
)  # fmt: skip


def test_export_policy_writes_the_experiments_policy_and_refuses_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from controllers.learner import Learner

    home = tmp_path / "home"
    db = open_database(home=home)
    with db.session() as s:
        seed_library(s, layout=LAYOUT)
        exp = runs.create_experiment(s, name="e", planner_backend="offline").id
        reach = lib.add_skill(
            s, spec=as_task("reach the red block", LAYOUT), experiment_id=exp, status="training"
        ).id
        untrained = lib.add_skill(
            s, spec=as_task("lift the blue block", LAYOUT), experiment_id=exp
        ).id
        specs = lib.skill_specs(s, skill_ids=[reach])
        lift = lib.find_skill(s, spec=as_task("lift the red block", LAYOUT))
        assert lift is not None
    db.dispose()

    def cli(*args: str) -> tuple[int, str, str]:
        code = main(["skills", *args, "--data-dir", str(home)])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = cli("export-policy", str(reach), "--out", str(tmp_path / "x.pt2"))
    assert code == 2 and "has no learner checkpoint" in err and len(err.strip().splitlines()) == 1

    store = LearnerStore(learner_dir(home, exp), SMALL)
    learner: Learner = store.get()
    task = learner.add_task(specs[reach])
    learner.set_weights({task: 1.0})
    learner.collect(80)
    learner.update(10)
    store.save()
    obs = learner.replay.obs[: len(learner.replay)].copy()
    want = learner.act(obs, np.full(len(obs), task), deterministic=True)
    store.close()

    out_file = tmp_path / "policies" / "reach.pt2"
    code, out, err = cli("export-policy", str(reach), "--out", str(out_file))
    assert code == 0, err
    assert f"exported the policy of skill {reach} ('reach the red block', experiment {exp}" in out
    policy, meta = load_exported(out_file)
    assert torch.equal(policy(torch.from_numpy(obs)), torch.from_numpy(want))
    assert (meta["skill_id"], meta["experiment_id"]) == (reach, exp)
    assert meta["instruction"] == "reach the red block"

    cases = [
        (["export-policy", "999", "--out", "x.pt2"], "no skill with id 999"),
        (["export-policy", str(lift.id), "--out", "x.pt2"], "only learned skills have a policy"),
        (["export-policy", str(untrained), "--out", "x.pt2"], "was never trained by experiment"),
    ]
    for args, message in cases:
        code, out, err = cli(*args)
        assert code == 2, (args, out, err)
        assert message in err and len(err.strip().splitlines()) == 1, (args, err)
        assert out == ""
    assert not Path("x.pt2").exists()
