"""An exported policy acts exactly as the learner's deterministic policy, with torch alone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from controllers.env import ENV_ID
from controllers.layout import SceneConfig, observation_names
from controllers.learner import Learner, LearnerConfig
from controllers.learner.export import export_policy, load_exported, scene_of
from controllers.learner.networks import Actor


def trained(**kw: object) -> tuple[Learner, int, int]:
    cfg = dict(
        hidden=(32, 32), batch_size=16, episode_steps=10, num_envs=2, random_steps=20,
        buffer_capacity=5_000, buffer_chunk=64, relabel_chunk=4,
    )  # fmt: skip
    cfg.update(kw)
    learner = Learner(LearnerConfig(**cfg))  # type: ignore[arg-type]
    reach = learner.add_task("reach the red block")
    stack = learner.add_task("stack the red block on the blue block")
    learner.set_weights({reach: 1.0, stack: 1.0})
    learner.collect(300)
    learner.update(20)
    return learner, reach, stack


def arena_observations(learner: Learner) -> np.ndarray:
    """What the arena showed while collecting, plus observations far outside it (clipped)."""
    obs = learner.replay.obs[: len(learner.replay)].astype(np.float32)
    far = obs[:5] * 50.0
    return np.concatenate([obs, far])


@dataclass
class Exported:
    """One default learner and its "reach" policy exported, shared by the tests that only
    read them (an export traces the networks: seconds each)."""

    learner: Learner
    reach: int
    stack: int
    path: Path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    learner, reach, stack = trained()
    path = export_policy(learner, reach, tmp_path_factory.mktemp("export") / "reach.pt2")
    yield Exported(learner, reach, stack, path)
    learner.close()


@pytest.mark.parametrize(
    ("kw", "both"),
    [({}, True), ({"conditioning": "film", "actor_average": 0.1}, False),
     ({"conditioning": "concat"}, False)],
    ids=["objects", "film-averaged", "concat"],
)  # fmt: skip
def test_the_exported_policy_acts_exactly_as_the_learner(
    tmp_path: Path, kw: dict, both: bool
) -> None:
    """Both instructions under the default conditioning; the two-object one elsewhere."""
    learner, reach, stack = trained(**kw)
    obs = arena_observations(learner)
    assert len(obs) >= 300
    for task in (reach, stack) if both else (stack,):
        path = export_policy(learner, task, tmp_path / f"{task}.pt2")
        policy, meta = load_exported(path)
        for n in (1, 7, len(obs)):
            want = torch.from_numpy(learner.act(obs[:n], np.full(n, task), deterministic=True))
            got = policy(torch.from_numpy(obs[:n]))
            assert got.shape == (n, meta["action_dim"])
            assert torch.equal(got, want), (kw, task, n, (got - want).abs().max())
        assert meta["instruction"] == learner.instruction(task)
        assert meta["averaged_actor"] == ("actor_average" in kw)
    learner.close()


def test_the_export_normalises_with_the_statistics_collected_since_the_last_update(
    tmp_path: Path,
) -> None:
    learner, reach, _ = trained()
    learner.collect(100)  # the normaliser moves on; the agent's copy is the update's
    stale = learner.agent.obs_mean.clone()
    assert not torch.equal(stale, torch.as_tensor(learner.normalizer.mean, dtype=torch.float32))
    obs = arena_observations(learner)
    policy, _ = load_exported(export_policy(learner, reach, tmp_path / "p.pt2"))
    want = torch.from_numpy(learner.act(obs, np.full(len(obs), reach), deterministic=True))
    assert torch.equal(policy(torch.from_numpy(obs)), want)
    learner.close()


def test_the_export_runs_the_learners_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to the actor's code reaches the exported program: no copy of it to drift."""
    learner, reach, _ = trained()
    obs = arena_observations(learner)
    before = learner.act(obs, np.full(len(obs), reach), deterministic=True)
    distribution = Actor.distribution

    def shifted(self: Actor, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = distribution(self, *args)  # type: ignore[arg-type]
        return mean + 0.25, log_std

    monkeypatch.setattr(Actor, "distribution", shifted)
    policy, _ = load_exported(export_policy(learner, reach, tmp_path / "p.pt2"))
    want = torch.from_numpy(learner.act(obs, np.full(len(obs), reach), deterministic=True))
    assert not torch.equal(want, torch.from_numpy(before))
    assert torch.equal(policy(torch.from_numpy(obs)), want)
    learner.close()


def test_metadata_describes_the_environment(exported: Exported, tmp_path: Path) -> None:
    learner = exported.learner
    _, meta = load_exported(exported.path)
    assert meta["instruction"] == "reach the red block"
    assert meta["env_id"] == ENV_ID == "experimenter/Blocks-v0"
    assert meta["observation_dim"] == learner.layout.dim == len(meta["observation_names"])
    assert meta["observation_names"] == observation_names(learner.layout)
    assert meta["observation_names"][:7] == [
        "gripper_pos_x", "gripper_pos_y", "gripper_pos_z",
        "gripper_vel_x", "gripper_vel_y", "gripper_vel_z", "gripper_opening",
    ]  # fmt: skip
    assert meta["observation_names"][7:10] == ["red_pos_x", "red_pos_y", "red_pos_z"]
    assert meta["observation_names"][-1] == "blue_touch_right"
    assert scene_of(meta) == learner.scene == SceneConfig()
    assert meta["episode_steps"] == 10 and meta["env_steps"] == learner.env_steps
    with pytest.raises(ValueError, match=r"no task 5"):
        export_policy(learner, 5, tmp_path / "q.pt2")


def test_the_file_runs_in_a_process_that_imports_only_torch(
    exported: Exported, tmp_path: Path
) -> None:
    learner, path = exported.learner, exported.path
    obs = arena_observations(learner)
    want = learner.act(obs, np.full(len(obs), exported.reach), deterministic=True)
    torch.save(torch.from_numpy(obs), tmp_path / "obs.pt")
    script = f"""
import json, sys, torch
files = {{"metadata.json": ""}}
policy = torch.export.load({str(path)!r}, extra_files=files).module()
meta = json.loads(files["metadata.json"])
obs = torch.load({str(tmp_path / "obs.pt")!r})
torch.save(policy(obs), {str(tmp_path / "actions.pt")!r})
ours = sorted(m for m in sys.modules if m.split(".")[0] in
              ("controllers", "experimenter", "settings", "tasks", "skills", "storage"))
print(json.dumps({{"instruction": meta["instruction"], "ours": ours}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"instruction": "reach the red block", "ours": []}
    got = torch.load(tmp_path / "actions.pt")
    assert torch.equal(got, torch.from_numpy(want))


def test_bad_observations_are_refused(exported: Exported) -> None:
    policy, _ = load_exported(exported.path)
    # torch checks the exported program's input: the observation's width is fixed.
    with pytest.raises(AssertionError, match=r"obs\.size\(\)\[1\] == 52"):
        policy(torch.zeros(3, 51))


def test_a_bfloat16_learner_is_refused(tmp_path: Path) -> None:
    learner = Learner(LearnerConfig(hidden=(32, 32), precision="bfloat16", num_envs=1))
    task = learner.add_task("reach the red block")
    with pytest.raises(ValueError, match="only float32 policies can be exported"):
        export_policy(learner, task, tmp_path / "p.pt2")
    assert not (tmp_path / "p.pt2").exists()
