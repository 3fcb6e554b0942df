"""The flags of ``run`` and ``train`` are the settings they set: declared once, by the
settings, and handed on whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import experimenter.train
from controllers.layout import SceneConfig
from experimenter.cli import Train, main
from experimenter.commands_run import Run
from settings import ExecutorSettings, LearnerConfig, LoopSettings
from tasks import as_task, canonical_instruction

LAYOUT = SceneConfig().layout()

RUN_OWN = {
    "data_dir", "db_url", "experiment", "planner", "goal", "threads", "progress", "tensorboard",
}  # fmt: skip
TRAIN_OWN = {"task", "steps", "out", "resume", "eval_every", "eval_episodes", "threads"}
EXPERIMENTER_LEARNER = {
    "bc_weight": 0.5, "bc_normalize": True, "demo_fraction": 0.5, "critic_layer_norm": True,
    "actor_average": 0.001, "success_weight": 0.5,
}  # fmt: skip
"""Where ``experimenter run``'s learner differs from LearnerConfig's pure-RL defaults."""


def _owned(command: type[BaseModel], own: set[str]) -> dict[str, type[BaseModel]]:
    """Each flag of ``command`` that is not its own, and the settings model it sets."""
    owners: dict[str, type[BaseModel]] = {}
    for name in command.model_fields.keys() - own:
        found = [
            m for m in (LoopSettings, LearnerConfig, ExecutorSettings) if name in m.model_fields
        ]
        assert len(found) == 1, f"--{name} sets no setting (or two): it would be dropped"
        owners[name] = found[0]
    return owners


@pytest.mark.parametrize(("command", "own"), [(Run, RUN_OWN), (Train, TRAIN_OWN)])
def test_a_flag_that_sets_a_setting_is_that_settings_field(
    command: type[BaseModel], own: set[str]
) -> None:
    for name, owner in _owned(command, own).items():
        mine, theirs = command.model_fields[name], owner.model_fields[name]
        assert mine.description == theirs.description, name
        assert mine.metadata == theirs.metadata, name
        same_type = mine.annotation == theirs.annotation
        assert same_type or (name == "hidden" and mine.annotation == list[int]), name


def test_run_keeps_the_loops_and_learners_defaults_but_for_the_experimenters_six() -> None:
    owners = _owned(Run, RUN_OWN)
    differs = {
        name: Run.model_fields[name].default
        for name, owner in owners.items()
        if Run.model_fields[name].default != owner.model_fields[name].get_default()
        and name != "hidden"
    }
    assert differs == EXPERIMENTER_LEARNER
    assert Run.model_fields["hidden"].default == [256, 256]


def test_run_hands_every_flag_to_the_settings_it_stores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Run] = []
    monkeypatch.setattr(Run, "cli_cmd", lambda self: seen.append(self))
    args = ["--max-env-steps", "5000", "--max-hours", "1.5", "--threshold", "0.7",
            "--hidden", "64", "--hidden", "32", "--bc-weight", "0.25", "--no-critic-layer-norm",
            "--seed", "7", "--review", "--video-every", "0"]  # fmt: skip
    assert main(["run", "--data-dir", str(tmp_path), *args]) == 0
    settings, _ = seen[0].checked()
    assert settings == LoopSettings(
        max_env_steps=5000, max_hours=1.5, threshold=0.7, review=True, video_every=0,
        learner=LearnerConfig(
            **{**EXPERIMENTER_LEARNER, "hidden": (64, 32), "bc_weight": 0.25, "seed": 7,
               "critic_layer_norm": False},
        ),
    )  # fmt: skip


def test_train_hands_its_learner_flags_to_the_learner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    given: dict[str, Any] = {}

    def run_training(**kwargs: Any) -> None:
        given.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(experimenter.train, "run_training", run_training)
    args = ["--task", "reach the red block", "--out", str(tmp_path), "--conditioning", "film",
            "--n-step", "3", "--precision", "bfloat16", "--hidden", "64", "--device", "auto",
            "--updates-per-step", "2"]  # fmt: skip
    with pytest.raises(SystemExit):
        main(["train", *args])
    assert given["config"] == LearnerConfig(
        conditioning="film", n_step=3, precision="bfloat16", hidden=(64,), device="auto"
    )
    assert given["updates_per_step"] == 2.0
    # A value the learner cannot take is refused when the flags are read, in one line.
    assert main(["train", "--task", "reach the red block", "--conditioning", "attention"]) == 2
    err = capsys.readouterr().err
    assert "train.conditioning: Input should be 'concat', 'film' or 'objects'" in err
    assert len(err.strip().splitlines()) == 1


def test_train_takes_a_task_as_spec_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--task`` takes an instruction or spec JSON, as its help says (the JSON was refused
    with "Input should be a valid string")."""
    given: dict[str, Any] = {}

    def run_training(**kwargs: Any) -> None:
        given.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(experimenter.train, "run_training", run_training)
    spec = '{"stages": [{"all": [{"pred": "lifted", "args": ["red"]}]}]}'
    with pytest.raises(SystemExit):
        main(["train", "--task", spec, "--task", "reach the red block", "--out", str(tmp_path)])
    lifted, reach = given["tasks"]
    assert canonical_instruction(as_task(lifted, LAYOUT)) == "lift the red block"
    assert reach == "reach the red block"
