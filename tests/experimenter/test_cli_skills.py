"""The ``experimenter skills`` and ``experimenter db`` commands, run as a person would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import skills as lib
from controllers.layout import SceneConfig
from experimenter.cli import main
from storage import Database
from tasks import as_task

LAYOUT = SceneConfig().layout()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["sqlite", "postgresql"])
def library(request: pytest.FixtureRequest, make_db: Callable[[str], Database]) -> Database:
    db = make_db(request.param)
    with db.session() as s:
        grasp = lib.add_skill(
            s, spec=as_task("grasp the red block", LAYOUT), kind="primitive", primitive="grasp",
            primitive_args={"obj": "red"}, status="learned", decided_by="person", actor="ann",
        )  # fmt: skip
        lift = lib.add_skill(
            s, spec=as_task("lift the red block", LAYOUT), wording="raise the red cube",
            actor="gemini", reason="towards the goal",
        )  # fmt: skip
        lib.set_status(s, skill_id=lift.id, status="training", decided_by="planner", reason="go")
        lib.record_evaluation(s, skill_id=lift.id, episodes=20, successes=15, env_steps=4000)
        lib.add_skill(
            s, spec=as_task("grasp the red block, then lift the red block", LAYOUT),
            kind="composite", components=[grasp.id, lift.id],
        )  # fmt: skip
        lib.add_skill(s, spec=as_task("stack the blue block on the green block", LAYOUT))
    return db


def test_list_prints_a_table_and_stable_json(
    capsys: pytest.CaptureFixture[str], library: Database
) -> None:
    code, out, _ = run(capsys, "skills", "list", "--db-url", library.url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "status", "kind", "success", "evals", "instruction"]
    assert "2   training  learned    75%      1      lift the red block" in out
    assert lines[-1] == "4 of 4 skill(s)"

    code, out, _ = run(capsys, "skills", "list", "--db-url", library.url, "--status",
                       "training", "--status", "learned", "--json")  # fmt: skip
    data = json.loads(out)
    assert set(data) == {"total", "next_after", "skills"} and data["total"] == 2
    assert [s["instruction"] for s in data["skills"]] == [
        "grasp the red block",
        "lift the red block",
    ]
    documented = {"id", "spec_hash", "instruction", "wording", "kind", "status"}
    documented |= {"success_rate", "evaluations", "created_at"}
    assert set(data["skills"][1]) >= documented
    assert data["skills"][1]["success_rate"] == 0.75

    code, out, _ = run(capsys, "skills", "list", "--db-url", library.url, "--limit", "3")
    assert out.splitlines()[-1] == "3 of 4 skill(s); next page: --after 3"
    code, out, _ = run(capsys, "skills", "list", "--db-url", library.url, "--after", "3",
                       "--object", "blue", "--json")  # fmt: skip
    assert [s["id"] for s in json.loads(out)["skills"]] == [4]


def test_show_gives_spec_history_evaluations_and_lineage(
    capsys: pytest.CaptureFixture[str], library: Database
) -> None:
    code, out, _ = run(capsys, "skills", "show", "2", "--db-url", library.url)
    assert code == 0
    assert out.startswith("skill 2: lift the red block\n")
    assert "wording: raise the red cube" in out
    assert '"pred": "lifted"' in out
    assert "proposed  training  planner" in out and "planner (gemini)" in out
    assert "75%" in out and "4000" in out
    assert "used in: 3 [proposed] grasp the red block, then lift the red block" in out

    code, out, _ = run(capsys, "skills", "show", "3", "--json", "--db-url", library.url)
    detail = json.loads(out)
    assert set(detail) == {"skill", "spec", "history", "evaluations", "lineage"}
    assert [c["id"] for c in detail["lineage"]["components"]] == [1, 2]


def test_search_finds_words_and_stems(
    capsys: pytest.CaptureFixture[str], library: Database
) -> None:
    code, out, _ = run(capsys, "skills", "search", "stacking blue", "--db-url", library.url)
    assert code == 0 and "stack the blue block on the green block" in out
    code, out, _ = run(capsys, "skills", "search", "raise cube", "--json", "--db-url", library.url)
    assert [h["skill"]["id"] for h in json.loads(out)["hits"]] == [2]
    code, out, _ = run(capsys, "skills", "search", "purple", "--db-url", library.url)
    assert code == 0 and "no skill matches 'purple'" in out


def test_export_then_import_into_a_fresh_data_dir(
    capsys: pytest.CaptureFixture[str], library: Database, tmp_path: Path
) -> None:
    target = tmp_path / "lib.json"
    code, _, err = run(capsys, "skills", "export", "--out", str(target), "--db-url", library.url)
    assert code == 0 and "exported 4 skill(s)" in err
    fresh = tmp_path / "other"
    code, out, _ = run(capsys, "skills", "import", str(target), "--data-dir", str(fresh))
    assert code == 0 and "imported 4 new skill(s)" in out
    assert (fresh / "experimenter.db").is_file()
    code, out, _ = run(capsys, "skills", "import", str(target), "--data-dir", str(fresh), "--json")
    assert json.loads(out)["added"] == 0 and json.loads(out)["existing"] == 4
    code, out, _ = run(capsys, "skills", "list", "--data-dir", str(fresh), "--json")
    assert json.loads(out)["total"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["skills", "list", "--status", "done"],
         "unknown status 'done'; allowed: proposed, training, learned, failed, retired"),
        (["skills", "list", "--kind", "scripted"], "unknown kind 'scripted'; allowed: primitive"),
        (["skills", "list", "--predicate", "fly"], "unknown predicate 'fly'; allowed: above"),
        (["skills", "show", "99"], "no skill with id 99"),
        (["skills", "show", "two"], "skills.show.id"),
        (["skills", "search", "?!"], "has no words"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], library: Database, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args, "--db-url", library.url)
    assert code == 2 and message in err and out == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"skills": [{"key": "a"}]}', "skills.0.spec: Field required"),
        ('{"skills": [{"key": "a", "spec": {"stages": [{"all": [{"pred": "on", '
         '"args": ["red", "red"]}]}]}}]}', "nothing imported"),
    ],
)  # fmt: skip
def test_a_malformed_import_exits_2_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], library: Database, tmp_path: Path, content: str,
    message: str,
) -> None:  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, _, err = run(capsys, "skills", "import", str(bad), "--db-url", library.url)
    assert code == 2 and message in err
    code, _, err = run(capsys, "skills", "import", str(tmp_path / "nope.json"), "--db-url",
                       library.url)  # fmt: skip
    assert code == 2 and "cannot read" in err
    with library.reader() as s:
        assert lib.count_skills(s) == 4


def test_db_upgrade_creates_and_reports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from storage.migrate import head_revision, revisions

    code, out, _ = run(capsys, "db", "upgrade", "--data-dir", str(tmp_path))
    assert code == 0 and f"applied {', '.join(revisions())}" in out
    code, out, _ = run(capsys, "db", "upgrade", "--data-dir", str(tmp_path))
    assert code == 0 and f"already at the newest revision {head_revision()}" in out


def test_the_installed_command_reads_the_environment(library: Database, tmp_path: Path) -> None:
    env = {**os.environ, "EXPERIMENTER_DB_URL": library.url, "EXPERIMENTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "experimenter", "skills", "list", "--kind", "composite", "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [s["id"] for s in json.loads(done.stdout)["skills"]] == [3]
    assert not (tmp_path / "experimenter.db").exists()  # the URL won over the data dir
