"""``experimenter skills export-policy``: a learned skill's policy as a torch.export file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from small_experiment import LAYOUT, add_small_experiment, train_a_little

import skills as lib
from controllers.learner.export import load_exported
from experimenter.cli import main
from experimenter.graph.roster import seed_library
from storage import open_database
from tasks import as_task


def test_export_policy_writes_the_experiments_policy_and_refuses_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    db = open_database(home=home)
    with db.session() as s:
        seed_library(s, layout=LAYOUT)
        lift = lib.find_skill(s, spec=as_task("lift the red block", LAYOUT))
        assert lift is not None
    made = add_small_experiment(db)
    exp, reach, untrained = made

    def cli(*args: str) -> tuple[int, str, str]:
        code = main(["skills", *args, "--data-dir", str(home)])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = cli("export-policy", str(reach), "--out", str(tmp_path / "x.pt2"))
    assert code == 2 and "has no learner checkpoint" in err and len(err.strip().splitlines()) == 1

    trained = train_a_little(db, home, made)
    db.dispose()

    out_file = tmp_path / "policies" / "reach.pt2"
    code, out, err = cli("export-policy", str(reach), "--out", str(out_file))
    assert code == 0, err
    assert f"exported the policy of skill {reach} ('reach the red block', experiment {exp}" in out
    policy, meta = load_exported(out_file)
    assert torch.equal(policy(torch.from_numpy(trained.obs)), torch.from_numpy(trained.actions))
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
