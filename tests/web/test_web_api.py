"""The JSON API: what a person (or a script) reads and changes, on the seeded database."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import make_client
from fastapi.testclient import TestClient
from stored_configs import BUDGETS_BY_RUN, STORED_BY_RUN
from web_seed import RAY_WORKERS, Seeded, seed

import skills
from storage import Database, commands, runs
from web import views


def test_experiments_list_their_skills_budgets_and_where_they_are(
    client: TestClient, ids: Seeded
) -> None:
    page = client.get("/api/experiments").json()
    by_name = {e["name"]: e for e in page["items"]}
    run = by_name["stack-red-on-blue"]
    assert page["items"][0]["name"] == "reach-warmup"  # newest first
    assert run["status"] == "running" and run["alive"] is True
    assert run["iteration"] == 6 and run["node"] == "collect"
    assert run["skills"]["training"] == 3 and run["skills"]["learned"] == 1
    assert by_name["push-ablation"]["alive"] is True  # paused, heartbeat recent
    assert by_name["reach-warmup"]["alive"] is False

    overview = client.get(f"/api/experiments/{ids.running}").json()
    budgets = {b["name"]: b for b in overview["budgets"]}
    assert budgets["env_steps"]["fraction"] == pytest.approx(640_000 / 2_000_000)
    assert budgets["wall_seconds"]["limit"] == 24 * 3600
    assert budgets["dollars"]["fraction"] == pytest.approx(0.41 / 5)
    assert [i["number"] for i in overview["iterations"]] == [6, 5, 4, 3, 2, 1]
    assert {k["instruction"] for k in overview["training"]} >= {"lift the red block"}
    assert {m["name"] for m in overview["metrics"]} == {"alpha", "critic_loss", "return"}
    assert overview["workers"] == [
        {"worker": RAY_WORKERS[0], "node": "5e1f0a2b3c4d", "actor": "9a8b7c6d5e4f",
         "episodes": 32, "env_steps": 3_200, "last_env_step": 480_000},
        {"worker": RAY_WORKERS[1], "node": "7d3c2b1a0f9e", "actor": "1f2e3d4c5b6a",
         "episodes": 24, "env_steps": 1_200, "last_env_step": 400_000},
    ]  # fmt: skip
    paused = client.get(f"/api/experiments/{ids.paused}").json()
    assert paused["workers"] == [
        {"worker": "inprocess", "node": "local", "actor": None, "episodes": 10,
         "env_steps": 1_000, "last_env_step": 0},
    ]  # fmt: skip


def test_the_dashboard_reads_the_configuration_an_experiment_stored_typed(
    client: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    """Budgets, threshold and learner come from the stored configuration, read as the daemon
    reads it (a record of an older version included), never guessed from key spellings."""
    db, _ = seeded
    with db.session() as s:
        old = runs.create_experiment(
            s, name="old-record", planner_backend="offline", config=copy.deepcopy(STORED_BY_RUN),
            budgets=BUDGETS_BY_RUN,
        ).id  # fmt: skip
        runs.heartbeat(s, experiment_id=old, env_steps=150_000, dollars=0.5)
        # The configuration is the budgets' one owner: the budgets record is not read.
        config_only = runs.create_experiment(
            s, name="config-only", planner_backend="offline",
            config={"max_env_steps": 1000, "threshold": 0.6}, budgets={"max_env_steps": 5},
        ).id  # fmt: skip
        unreadable = runs.create_experiment(
            s, name="unreadable", planner_backend="offline", config={"max_training": 99},
            budgets={"env_steps": 10},
        ).id  # fmt: skip
    overview = client.get(f"/api/experiments/{old}").json()
    budgets = {b["name"]: b for b in overview["budgets"]}
    assert (budgets["env_steps"]["limit"], budgets["env_steps"]["fraction"]) == (300_000, 0.5)
    assert (budgets["dollars"]["limit"], budgets["dollars"]["fraction"]) == (2.0, 0.25)
    assert budgets["wall_seconds"]["limit"] is None
    assert overview["config"]["learner"]["hidden"] == [128, 128]
    assert overview["config"]["learner"]["n_critics"] == 2  # the learner's own default
    assert overview["experiment"]["budgets"] == {
        "max_env_steps": 300_000, "max_hours": None, "max_usd": 2.0
    }  # fmt: skip
    with db.reader() as s:
        assert views.training_curves(s, experiment_id=old)[1] == 0.8
        assert views.training_curves(s, experiment_id=config_only)[1] == 0.6
        assert views.training_curves(s, experiment_id=unreadable)[1] is None
    limits = {
        b["name"]: b["limit"]
        for b in client.get(f"/api/experiments/{config_only}").json()["budgets"]
    }
    assert limits == {"env_steps": 1000, "wall_seconds": None, "dollars": None}
    broken = client.get(f"/api/experiments/{unreadable}").json()
    assert broken["config"] is None and all(b["limit"] is None for b in broken["budgets"])
    page = client.get(f"/experiments/{unreadable}")
    assert page.status_code == 200 and "not one this version of the experimenter reads" in page.text


def test_every_list_is_paged(client: TestClient, ids: Seeded) -> None:
    for url in ["/api/experiments", "/api/tasks", "/api/decisions", "/api/commands"]:
        first = client.get(url, params={"limit": 1}).json()
        assert len(first["items"]) == 1 and first["next_before"] is not None, url
        second = client.get(url, params={"limit": 1, "before": first["next_before"]}).json()
        assert second["items"] and second["items"][0]["id"] < first["items"][0]["id"], url
    its = client.get(f"/api/experiments/{ids.running}/iterations", params={"limit": 4}).json()
    more = client.get(
        f"/api/experiments/{ids.running}/iterations", params={"limit": 4, "before": 3}
    ).json()
    assert [i["number"] for i in its["items"]] == [6, 5, 4, 3] and its["next_before"] == 3
    assert [i["number"] for i in more["items"]] == [2, 1] and more["next_before"] is None
    table = client.get("/api/skills", params={"limit": 4}).json()
    rest = client.get("/api/skills", params={"limit": 4, "offset": table["next_offset"]}).json()
    assert table["total"] == 11 and len(table["items"]) == 4 and table["next_offset"] == 4
    assert not {r["skill"]["id"] for r in table["items"]} & {
        r["skill"]["id"] for r in rest["items"]
    }
    points = client.get(
        f"/api/experiments/{ids.running}/metrics/alpha", params={"limit": 3, "after_step": 0}
    ).json()
    assert [p[0] for p in points] == [3200, 6400, 9600]


def test_library_search_filter_and_sort(
    client: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    db, ids = seeded
    found = client.get("/api/skills", params={"q": "red blue"}).json()
    with db.reader() as s:
        cli = [h.skill.id for h in skills.search_skills(s, query="red blue", limit=50)]
    assert [r["skill"]["id"] for r in found["items"]] == cli  # the CLI's search, same order
    assert (
        client.get("/api/skills/search", params={"q": "red blue"}).json()[0]["skill"]["id"]
        == (cli[0])
    )
    primitives = client.get("/api/skills", params={"q": "red", "kind": "primitive"}).json()
    assert {r["skill"]["kind"] for r in primitives["items"]} == {"primitive"}
    assert primitives["total"] == 2
    learned = client.get("/api/skills", params={"q": "red", "status": "learned"}).json()
    assert {r["skill"]["status"] for r in learned["items"]} == {"learned"}
    by_success = client.get("/api/skills", params={"sort": "success", "desc": 1}).json()["items"]
    rates = [r["skill"]["success_rate"] for r in by_success]
    known = [r for r in rates if r is not None]
    assert known == sorted(known, reverse=True) and rates[-1] is None  # never evaluated: last
    lift = next(r for r in by_success if r["skill"]["id"] == ids.skill["lift"])
    assert lift["recent"] == [0.1, 0.45, 0.7, 0.85]  # the sparkline, oldest first
    blue = client.get("/api/skills", params={"object": "green", "predicate": "on"}).json()
    assert [r["skill"]["id"] for r in blue["items"]] == [ids.skill["stack3"]]


def test_skill_detail_has_history_lineage_and_the_rollout(client: TestClient, ids: Seeded) -> None:
    page = client.get(f"/api/skills/{ids.skill['lift']}").json()
    assert [h["to_status"] for h in page["detail"]["history"]] == ["proposed", "training"]
    assert page["detail"]["lineage"]["task"]["id"] == ids.decided
    assert page["detail"]["lineage"]["used_in"][0]["id"] == ids.skill["composite"]
    assert page["video"]["media_type"] == "image/gif" and page["video"]["sha256"] == ids.video
    gif = client.get(page["video"]["url"])
    assert gif.headers["content-type"] == "image/gif" and gif.content.startswith(b"GIF8")
    png = client.get(page["curve_png"])
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_decisions_filter_by_kind_and_outcome_and_show_their_images(
    client: TestClient, ids: Seeded
) -> None:
    def listed(**params: str) -> list[int]:
        return [d["id"] for d in client.get("/api/decisions", params=params).json()["items"]]

    assert listed(outcome="error") == [ids.decision["error"]]
    assert listed(outcome="invalid") == [ids.decision["invalid"]]
    assert listed(outcome="cached") == [ids.decision["cached"]]
    assert set(listed(kind="analyze")) == {ids.decision[k] for k in ("analyze", "error", "cached")}
    assert listed(kind="propose", outcome="valid") == [ids.decision["propose"]]
    analyze = client.get(f"/api/decisions/{ids.decision['analyze']}").json()
    assert analyze["images"] == ids.images and analyze["tokens_in"] == 1132
    for sha in analyze["images"]:
        r = client.get(f"/artifacts/{sha}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"


def test_artifacts_are_served_by_registered_hash_only(client: TestClient) -> None:
    assert client.get("/artifacts/" + "0" * 64).status_code == 404
    for bad in ["abc", "..%2F..%2Fetc%2Fpasswd", "A" * 64, "0" * 63 + "g"]:
        r = client.get(f"/artifacts/{bad}")
        assert 400 <= r.status_code < 500 and b"root:" not in r.content, bad


def test_changes_need_the_token(client: TestClient, ids: Seeded, auth: dict[str, str]) -> None:
    url = f"/api/tasks/{ids.waiting[0]}/approve"
    assert client.post(url, json={"reason": "go"}).status_code == 401
    wrong = client.post(url, json={"reason": "go"}, headers={"Authorization": "Bearer nope-nope"})
    assert wrong.status_code == 403 and "wrong token" in wrong.json()["detail"]
    other = {"X-Experimenter-Token": auth["Authorization"].split()[1]}
    assert client.post(url, json={"reason": "go"}, headers=other).status_code == 202
    assert client.get("/api/commands", params={"status": "pending"}).json()["items"][0][
        "payload"
    ] == {"task_id": ids.waiting[0], "reason": "go", "actor": "dashboard"}


def test_review_commands_reach_the_database(
    client: TestClient, seeded: tuple[Database, Seeded], auth: dict[str, str]
) -> None:
    db, ids = seeded
    first, second = ids.waiting
    ok = client.post(f"/api/tasks/{first}/approve", json={"reason": "next rung"}, headers=auth)
    assert ok.status_code == 202 and ok.json()["kind"] == "approve"
    again = client.post(f"/api/tasks/{first}/reject", json={"reason": "no"}, headers=auth)
    assert again.status_code == 409 and "queued already" in again.json()["detail"]
    blank = client.post(f"/api/tasks/{second}/reject", json={"reason": " "}, headers=auth)
    assert blank.status_code == 400 and "say why" in blank.json()["detail"]
    assert client.post(
        f"/api/tasks/{second}/reject", json={"reason": "dull"}, headers=auth
    ).is_success
    decided = client.post(f"/api/tasks/{ids.decided}/approve", json={}, headers=auth)
    assert decided.status_code == 409 and "accepted already" in decided.json()["detail"]
    goal = client.post(
        f"/api/experiments/{ids.running}/goal",
        json={"goal": "put the green block on the red block"},
        headers=auth,
    )
    assert goal.status_code == 202
    assert goal.json()["payload"]["spec"]["stages"][0]["all"][0]["pred"] == "on"
    bad_goal = client.post(
        f"/api/experiments/{ids.running}/goal", json={"goal": "juggle"}, headers=auth
    )
    assert bad_goal.status_code == 400 and "not a task the arena knows" in bad_goal.json()["detail"]
    for kind in ("pause", "resume", "stop"):
        r = client.post(
            f"/api/experiments/{ids.running}/control", json={"kind": kind}, headers=auth
        )
        assert r.status_code == 202
    ended = client.post(
        f"/api/experiments/{ids.finished}/control", json={"kind": "pause"}, headers=auth
    )
    assert ended.status_code == 409 and "finished" in ended.json()["detail"]
    with db.reader() as s:
        queued = commands.list_commands(s, status="pending")
        assert [(c.kind, c.created_by) for c in reversed(queued)] == [
            ("approve", "dashboard"), ("reject", "dashboard"), ("goal", "dashboard"),
            ("pause", "dashboard"), ("resume", "dashboard"), ("stop", "dashboard"),
        ]  # fmt: skip
    review = client.get("/api/review").json()
    assert {t["id"]: t["pending_command"] for t in review["proposals"]} == {
        first: "approve",
        second: "reject",
    }


BAD_REQUESTS = [
    "/api/skills/0",
    "/api/skills/99999999999999999999999",
    "/api/skills?limit=0",
    "/api/skills?limit=100000",
    "/api/skills?offset=-1",
    "/api/skills?min_success=2",
    "/api/skills?status=done",
    "/api/skills?kind=magic",
    "/api/skills?predicate=juggle",
    "/api/skills?sort=colour",
    "/api/skills?sort=relevance",
    "/api/skills?q=%21%21%21",
    "/api/skills?q=" + "x" * 500,
    "/api/skills/search?q=",
    "/api/experiments?before=-5",
    "/api/experiments?before=abc",
    "/api/experiments/424242",
    "/api/experiments/1/metrics/a%00b",
    "/api/decisions?outcome=great",
    "/api/decisions?kind=%00",
    "/api/decisions/77777",
    "/api/tasks?status=maybe",
    "/api/commands?status=%27%3B%20DROP%20TABLE%20commands",
    "/skills/abc",
    "/skills?min_success=x",
    "/experiments/0",
    "/decisions?before=99999999999999999999999999",
    "/artifacts/%00",
]


@pytest.mark.parametrize("url", BAD_REQUESTS)
def test_malformed_input_gets_a_4xx_with_a_message(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:200])
    if url.startswith("/api/"):
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_malformed_changes_get_a_4xx(client: TestClient, ids: Seeded, auth: dict[str, str]) -> None:
    posts: list[tuple[str, object]] = [
        (f"/api/tasks/{ids.waiting[0]}/approve", "not json"),
        (f"/api/tasks/{ids.waiting[0]}/approve", {"reason": 5}),
        (f"/api/tasks/{ids.waiting[0]}/approve", {"reason": "x" * 3000}),
        ("/api/tasks/424242/approve", {"reason": "x"}),
        (f"/api/experiments/{ids.running}/control", {"kind": "explode"}),
        (f"/api/experiments/{ids.running}/goal", {"goal": ""}),
        (f"/api/experiments/{ids.running}/goal", {"goal": '{"stages": ['}),
        ("/api/experiments/424242/goal", {"goal": "reach the red block"}),
    ]
    for url, body in posts:
        r = (
            client.post(url, content=body, headers=auth)
            if isinstance(body, str)
            else client.post(url, json=body, headers=auth)
        )
        assert 400 <= r.status_code < 500, (url, body, r.status_code, r.text[:200])
        assert r.json()["detail"]


def test_the_openapi_document_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ["/api/experiments", "/api/skills", "/api/tasks", "/api/decisions", "/api/review"]:
        assert "get" in spec["paths"][path]
    assert "post" in spec["paths"]["/api/tasks/{task_id}/approve"]
    assert not any(p.startswith("/review") for p in spec["paths"])  # pages stay out of it


def test_the_api_lists_work_on_postgresql(
    make_db: Callable[[str], Database], tmp_path: Path
) -> None:
    db = make_db("postgresql")
    ids = seed(db)
    with make_client(db, tmp_path) as client:
        assert len(client.get("/api/experiments").json()["items"]) == 3
        found = client.get("/api/skills", params={"q": "red blue"}).json()
        assert ids.skill["stack"] in {r["skill"]["id"] for r in found["items"]}
        rates = [
            r["skill"]["success_rate"]
            for r in client.get("/api/skills", params={"sort": "success"}).json()["items"]
        ]
        assert rates[-1] is None and rates[0] == min(r for r in rates if r is not None)
        assert [d["id"] for d in client.get("/api/decisions?outcome=error").json()["items"]] == [
            ids.decision["error"]
        ]
        assert len(client.get("/api/tasks").json()["items"]) == 5
        overview = client.get(f"/api/experiments/{ids.running}").json()
        assert {m["name"] for m in overview["metrics"]} == {"alpha", "critic_loss", "return"}
        assert [w["worker"] for w in overview["workers"]] == list(RAY_WORKERS)
        assert client.get(f"/experiments/{ids.running}/metrics/alpha.svg").status_code == 200
