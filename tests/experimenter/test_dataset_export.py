"""``experimenter dataset export`` on a real experiment: the files load with numpy alone, and
what they hold agrees with the episodes table, step by step and episode by episode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from sqlalchemy import select

from controllers.layout import SceneConfig
from experimenter.cli import main
from experimenter.daemon import open_experiment
from settings import LearnerConfig, LoopSettings
from storage import Database, open_database
from storage.models import Episode
from tasks import Goal

pytestmark = pytest.mark.slow

GOAL = "stack the red block on the blue block"
ROUND = 4 * 20  # num_envs x episode_steps
STEPS, CAPACITY, RANDOM = 8 * ROUND, 600, 2 * ROUND
LEARNER = LearnerConfig(
    hidden=(32, 32), batch_size=64, episode_steps=20, num_envs=4, random_steps=RANDOM,
    buffer_capacity=CAPACITY, buffer_chunk=100,
)  # fmt: skip
"""Small enough to train in seconds; the replay keeps 600 of the 640 steps collected, so the
oldest round has been overwritten in part."""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with experiment ``data``, run by the daemon for eight rounds of
    collection: its scripted demonstrations, executed decompositions, the policy's random
    warm-up and the policy itself."""
    home = tmp_path_factory.mktemp("data")
    db = open_database(home=home)
    settings = LoopSettings(
        goal=Goal.read(GOAL, SceneConfig().layout()), collect_steps=2 * ROUND,
        eval_episodes=4, video_every=0, learner=LEARNER,
    )  # fmt: skip
    open_experiment(db, name="data", settings=settings, backend="offline")
    open_experiment(db, name="empty", settings=settings, backend="offline")
    db.dispose()
    code = main(["run", "--data-dir", str(home), "--experiment", "data", "--max-env-steps",
                 str(STEPS), "--no-progress", "--tensorboard", "off"])  # fmt: skip
    assert code == 0
    return home


@pytest.fixture
def db(home: Path) -> Iterator[Database]:
    opened = open_database(home=home)
    yield opened
    opened.dispose()


class Row(NamedTuple):
    """An episodes table row, as the daemon recorded it."""

    env_step: int
    skill_id: int
    purpose: str
    steps: int
    total_return: float
    success: bool


def export(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["dataset", "export", "--data-dir", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def load(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    """As a user without the experimenter loads it."""
    with np.load(folder / "dataset.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads((folder / "metadata.json").read_text())


def test_the_dataset_agrees_with_the_episodes_table(
    capsys: pytest.CaptureFixture[str], home: Path, db: Database, tmp_path: Path
) -> None:
    code, out, err = export(capsys, home, "--experiment", "data", "--out", str(tmp_path / "ds"))
    assert code == 0, err
    with db.reader() as s:
        found = s.execute(select(Episode).where(Episode.purpose.like("collect%"))).scalars()
        rows = {e.id: Row(e.env_step, e.skill_id, e.purpose, e.steps, e.total_return, e.success)
                for e in found}  # fmt: skip
    # The replay keeps the newest 600 steps: the first round (steps 0-79) lost 40 of its steps,
    # so its 4 episodes are left out and every later one is in.
    kept = sorted(i for i, e in rows.items() if e.env_step >= ROUND)
    assert len(rows) == STEPS // 20 and len(kept) == len(rows) - 4
    assert f"wrote {len(kept)} episodes ({20 * len(kept)} steps, 1 task(s))" in out
    assert "not exported: 4 overwritten" in out

    d, meta = load(tmp_path / "ds")
    n = 20 * len(kept)
    assert d["observations"].shape == d["next_observations"].shape == (n, 52)
    assert d["actions"].shape == (n, 4) and np.abs(d["actions"]).max() <= 1
    assert d["rewards"].shape == d["successes"].shape == (n, 1)
    assert sorted(d["episode_ids"].tolist()) == kept
    assert meta["counts"]["skipped"]["overwritten"] == 4 and meta["complete"] is False
    assert "overwritten" in meta["note"]
    assert [t["instruction"] for t in meta["tasks"]] == [GOAL]
    assert len(meta["observation"]["names"]) == 52 and len(meta["action"]["names"]) == 4

    ends = d["episode_starts"] + d["episode_lengths"] - 1
    for e, (start, end) in enumerate(zip(d["episode_starts"], ends, strict=True)):
        row = rows[int(d["episode_ids"][e])]
        steps = slice(start, end + 1)
        # The episode as the daemon recorded it: its return summed from the collecting task's
        # rewards, its success at its last step.
        task = d["episode_tasks"][e]
        assert task == 0 and d["episode_skill_ids"][e] == row.skill_id
        assert d["rewards"][steps, task].sum() == pytest.approx(row.total_return, abs=1e-4)
        assert bool(d["successes"][end, task]) == row.success
        assert d["episode_lengths"][e] == row.steps and d["episode_env_steps"][e] == row.env_step
        # One trajectory: each observation is the step before's next observation.
        np.testing.assert_array_equal(d["observations"][start + 1 : end + 1],
                                      d["next_observations"][start:end])  # fmt: skip
        assert (d["episode_index"][steps] == e).all()
        assert d["step_index"][steps].tolist() == list(range(row.steps))
        assert d["timeouts"][steps].tolist() == [False] * (row.steps - 1) + [True]
        source = str(d["episode_sources"][e])
        label = row.purpose.partition(":")[2]
        assert source == ("random" if label == "policy" and row.env_step < RANDOM else label)
    assert not d["terminals"].any()
    assert set(d["episode_sources"].tolist()) == {"random", "policy", "chain", "demo"}
    # Consecutive episodes of one round are different arena copies, not one trajectory.
    assert not np.array_equal(d["observations"][20], d["next_observations"][19])


def test_sources_and_tasks_choose_episodes_and_reward_columns(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    code, _, err = export(capsys, home, "--experiment", "data", "--out", str(tmp_path / "all"))
    assert code == 0, err
    code, _, err = export(
        capsys, home, "--experiment", "data", "--out", str(tmp_path / "demos"),
        "--source", "demo", "--source", "chain", "--task", "reach the red block", "--task", GOAL,
    )  # fmt: skip
    assert code == 0, err
    every, _ = load(tmp_path / "all")
    d, meta = load(tmp_path / "demos")
    assert set(d["episode_sources"].tolist()) == {"demo", "chain"}
    assert [t["instruction"] for t in meta["tasks"]] == ["reach the red block", GOAL]
    assert meta["tasks"][0]["skill_ids"] == [] and meta["tasks"][1]["skill_ids"]
    assert (d["episode_tasks"] == 1).all()
    # The same steps as in the whole dataset, with the same goal rewards; "reach" relabels them.
    rows = np.concatenate([
        np.arange(s, s + n) for s, n, i in zip(every["episode_starts"], every["episode_lengths"],
                                               every["episode_ids"], strict=True)
        if i in set(d["episode_ids"].tolist())
    ])  # fmt: skip
    np.testing.assert_array_equal(d["observations"], every["observations"][rows])
    np.testing.assert_array_equal(d["rewards"][:, 1], every["rewards"][rows, 0])
    assert not np.array_equal(d["rewards"][:, 0], d["rewards"][:, 1])
    assert meta["counts"]["skipped"]["other_sources"] == len(every["episode_ids"]) - len(
        d["episode_ids"]
    )

    # --force replaces a dataset written before, whole: no temporary folder is left behind.
    code, _, err = export(capsys, home, "--experiment", "data", "--out", str(tmp_path / "demos"),
                          "--source", "random", "--force")  # fmt: skip
    assert code == 0, err
    d, _ = load(tmp_path / "demos")
    assert set(d["episode_sources"].tolist()) == {"random"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all", "demos"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--experiment", "nope"], "no experiment named 'nope'; known: data, empty"),
        (["--experiment", "empty"], "experiment 'empty' has no saved learner"),
        (["--out", "{tmp}/file"], "is a file; give a folder"),
        (["--out", "{tmp}/full"], "is not empty; give a new folder, or --force"),
        (["--out", "{tmp}/full", "--force"], "holds files that are not a dataset"),
        (["--task", "fly to the moon"], "--task: 'fly to the moon' is not understood"),
        (["--task", '{"stages": 3}'], "--task '{\"stages\": 3}': spec.stages"),
        (["--task", GOAL, "--task", GOAL], "is given twice"),
        (["--source", "expert"], "source"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, args: list[str], says: str
) -> None:
    (tmp_path / "file").write_text("mine")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    given = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--experiment" not in given:
        given += ["--experiment", "data"]
    if "--out" not in given:
        given += ["--out", str(tmp_path / "new")]
    code, out, err = export(capsys, home, *given)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"
