"""``experimenter skills run`` and ``skills evaluate``: a skill executed as the library says,
its success rate with a Wilson interval, a video, and an evaluation recorded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import pytest
from small_experiment import LAYOUT, SMALL, add_small_experiment, train_a_little

import skills as lib
from experimenter.cli import main
from experimenter.graph.roster import seed_library
from skills.stats import wilson_interval
from storage import Database, open_database, runs
from tasks import as_task


def cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(home)])
    out, err = capsys.readouterr()
    return code, out, err


def skill_id(db: Database, instruction: str, experiment_id: int | None = None) -> int:
    with db.reader() as s:
        found = lib.find_skill(s, spec=as_task(instruction, LAYOUT), experiment_id=experiment_id)
    assert found is not None, instruction
    return found.id


def evaluation_count(db: Database) -> int:
    with db.reader() as s:
        return sum(k.evaluations for k in lib.list_skills(s, limit=1000))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data directory whose library holds the 36 seeded primitives."""
    db = open_database(home=tmp_path)
    with db.session() as s:
        assert seed_library(s, layout=LAYOUT) == 36
    db.dispose()
    return tmp_path


@pytest.fixture
def db(home: Path) -> Iterator[Database]:
    opened = open_database(home=home)
    yield opened
    opened.dispose()


def test_a_primitive_runs_its_controller_and_writes_a_gif(
    capsys: pytest.CaptureFixture[str], home: Path, db: Database
) -> None:
    lift = skill_id(db, "lift the red block")
    gif = home / "videos" / "lift.gif"
    code, out, err = cli(capsys, home, "skills", "run", str(lift), "--episodes", "3",
                         "--seed", "0", "--video", str(gif), "--size", "64")  # fmt: skip
    assert code == 0, err
    assert f"skill {lift} (primitive, learned): lift the red block" in out
    assert "executed as scripted primitive lift {'obj': 'red'}" in out
    assert "seeds 0..2" in out
    low, high = wilson_interval(3, 3)
    assert f"success 3/3 = 100% (Wilson 95 % interval {low:.0%}-{high:.0%})" in out
    frames = iio.imread(gif)
    assert frames.ndim == 4 and frames.shape[1:] == (64, 64, 3) and len(frames) > 10
    assert evaluation_count(db) == 0  # run stores nothing


def test_fresh_seeds_by_default(
    capsys: pytest.CaptureFixture[str], home: Path, db: Database
) -> None:
    release = skill_id(db, "release the blue block")
    code, out, _ = cli(capsys, home, "skills", "run", str(release), "--episodes", "2")
    assert code == 0
    first = int(re.search(r"seeds (\d+)\.\.", out).group(1))  # type: ignore[union-attr]
    assert first >= 10**8


def test_a_composite_runs_its_parts_in_order(
    capsys: pytest.CaptureFixture[str], home: Path, db: Database
) -> None:
    parts = [skill_id(db, "grasp the red block"), skill_id(db, "lift the red block")]
    with db.session() as s:
        both = lib.add_skill(
            s, spec=as_task("grasp the red block, then lift the red block", LAYOUT),
            kind="composite", components=parts, status="learned", decided_by="person",
        ).id  # fmt: skip
    mp4 = home / "both.mp4"
    code, out, err = cli(capsys, home, "skills", "evaluate", str(both), "--episodes", "2",
                         "--seed", "5", "--video", str(mp4), "--camera", "side",
                         "--size", "64")  # fmt: skip
    assert code == 0, err
    assert "executed as its 2 part(s) in order, scripted" in out
    assert "success 2/2" in out and mp4.stat().st_size > 1000
    with db.reader() as s:
        (ev,) = lib.skill_detail(s, skill_id=both).evaluations
    assert (ev.episodes, ev.successes, ev.experiment_id, ev.env_steps) == (2, 2, None, 0)
    assert f"recorded evaluation {ev.id} of skill {both}" in out


def test_bad_input_is_one_line_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, db: Database
) -> None:
    lift = skill_id(db, "lift the red block")
    with db.session() as s:
        exp = runs.create_experiment(s, name="e", planner_backend="offline").id
        learned = lib.add_skill(
            s, spec=as_task("stack the red block on the blue block", LAYOUT), experiment_id=exp
        ).id
        imported = lib.add_skill(
            s, spec=as_task("stack the green block on the red block", LAYOUT)
        ).id
        lib.set_status(s, skill_id=lift, status="retired", decided_by="person", reason="test")
    cases = [
        (["run", "999"], "no skill with id 999"),
        (["run", str(learned)], f"experiment {exp} of skill {learned} has no learner checkpoint"),
        (["evaluate", str(learned)], "has no learner checkpoint"),
        (["run", str(imported)], "no experiment has trained a policy for it"),
        (["evaluate", str(lift)], f"skill {lift} is retired"),
        (["run", str(lift), "--video", "x.avi"], "use a file ending in .gif or .mp4"),
        (["run", str(lift), "--camera", "top"], "'front' or 'side'"),
        (["evaluate", str(lift), "--episodes", "0"], "greater than or equal to 1"),
    ]
    for args, message in cases:
        code, out, err = cli(capsys, home, "skills", *args)
        assert code == 2, (args, out, err)
        assert message in err and len(err.strip().splitlines()) == 1, (args, err)
        assert out == ""
    assert evaluation_count(db) == 0


@pytest.mark.slow
def test_a_learned_skill_runs_its_experiments_policy_and_evaluate_records_it(
    capsys: pytest.CaptureFixture[str], home: Path, db: Database
) -> None:
    made = add_small_experiment(db)
    exp, reach, untrained = made
    steps = train_a_little(db, home, made).env_steps

    gif = home / "reach.gif"
    code, out, err = cli(capsys, home, "skills", "run", str(reach), "--episodes", "4",
                         "--seed", "7", "--video", str(gif), "--size", "48")  # fmt: skip
    assert code == 0, err
    assert f"executed as the policy of experiment {exp} ({steps} env steps)" in out
    assert re.search(r"success \d/4 = \d+% \(Wilson 95 % interval \d+%-\d+%\)", out), out
    assert len(iio.imread(gif)) == SMALL.episode_steps + 1
    assert evaluation_count(db) == 0

    code, out, err = cli(capsys, home, "skills", "evaluate", str(reach), "--episodes", "12")
    assert code == 0, err
    with db.reader() as s:
        (ev,) = lib.skill_detail(s, skill_id=reach).evaluations
        skill = lib.get_skill(s, skill_id=reach)
    assert (ev.episodes, ev.experiment_id, ev.env_steps) == (12, exp, steps)
    assert skill.evaluations == 1 and skill.success_lower is not None
    assert skill.success_lower == pytest.approx(wilson_interval(ev.successes, 12)[0])
    assert f"success {ev.successes}/12" in out

    code, _, err = cli(capsys, home, "skills", "evaluate", str(untrained))
    assert code == 2 and f"skill {untrained} was never trained by experiment {exp}" in err

    # A composite of the experiment: its learned part acts through the experiment's policy.
    grasp = skill_id(db, "grasp the red block")
    with db.session() as s:
        mixed = lib.add_skill(
            s, spec=as_task("reach the red block, then grasp the red block", LAYOUT),
            kind="composite", components=[reach, grasp], experiment_id=exp,
        ).id  # fmt: skip
        blocked = lib.add_skill(
            s, spec=as_task("lift the blue block, then grasp the red block", LAYOUT),
            kind="composite", components=[untrained, grasp], experiment_id=exp,
        ).id  # fmt: skip
    code, out, err = cli(capsys, home, "skills", "run", str(mixed), "--episodes", "2")
    assert code == 0, err
    assert f"learned ones by the policy of experiment {exp} ({steps} env steps)" in out
    code, _, err = cli(capsys, home, "skills", "run", str(blocked))
    assert code == 2 and f"composite skill {blocked} cannot run" in err
    assert evaluation_count(db) == 1
