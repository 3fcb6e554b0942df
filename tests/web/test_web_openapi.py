"""The server agrees with its own OpenAPI document: a client generated from the document
gets, for good and bad requests alike, only the statuses it declares, each with the body
(and media type) it declares, and every declared status is one the server really sends."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from conftest import TOKEN
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from web_seed import Seeded

from storage import Database
from storage.commands import enqueue_command

Case = tuple[str, str, Any, str]
"""method, URL, JSON body (None: none; a str: sent as raw bytes), token: good, none, wrong."""


def _cases(ids: Seeded) -> list[Case]:
    run, lift, waiting = ids.running, ids.skill["lift"], ids.waiting
    gets = [
        "/api/experiments", "/api/experiments?limit=1000", "/api/experiments?limit=1001",
        "/api/experiments?before=abc", f"/api/experiments/{run}", "/api/experiments/424242",
        "/api/experiments/0", f"/api/experiments/{run}/iterations?limit=2&before=4",
        f"/api/experiments/{run}/iterations?limit=1000", "/api/experiments/424242/iterations",
        f"/api/experiments/{run}/iterations?before=0", f"/api/experiments/{run}/metrics",
        "/api/experiments/424242/metrics", "/api/experiments/x/metrics",
        f"/api/experiments/{run}/metrics/alpha?limit=1000", "/api/experiments/424242/metrics/a",
        f"/api/experiments/{run}/metrics/a%00b", "/api/skills?limit=1000&sort=success&desc=1",
        "/api/skills?q=red+blue", "/api/skills?limit=0", "/api/skills?sort=relevance",
        "/api/skills?status=done", "/api/skills/search?q=red", "/api/skills/search?q=",
        "/api/skills/search?q=red&status=bogus", f"/api/skills/{lift}", "/api/skills/424242",
        "/api/skills/0", "/api/tasks?limit=1000", "/api/tasks?status=proposed",
        "/api/tasks?status=maybe", "/api/tasks?experiment=-1", "/api/decisions?limit=1000",
        "/api/decisions?kind=analyze&outcome=error", "/api/decisions?outcome=great",
        f"/api/decisions/{ids.decision['analyze']}", "/api/decisions/77777",
        "/api/decisions/abc", "/api/review", "/api/commands?limit=1000",
        "/api/commands?status=pending", "/api/commands?status=nope", "/api/commands?limit=x",
        f"/artifacts/{ids.video}", "/artifacts/" + "0" * 64, "/artifacts/abc",
        f"/experiments/{run}/curves.png", "/experiments/424242/curves.png",
        "/experiments/0/curves.png", f"/skills/{lift}/curve.png", "/skills/424242/curve.png",
        "/skills/x/curve.png", f"/experiments/{run}/metrics/alpha.svg",
        "/experiments/424242/metrics/alpha.svg", f"/experiments/{run}/metrics/a%00b.svg",
    ]  # fmt: skip
    posts: list[Case] = [
        ("POST", f"/api/tasks/{waiting[0]}/approve", {"reason": "go"}, "none"),
        ("POST", f"/api/tasks/{waiting[0]}/approve", {"reason": "go"}, "wrong"),
        ("POST", f"/api/tasks/{waiting[0]}/approve", {"reason": "go"}, "good"),
        ("POST", f"/api/tasks/{waiting[0]}/approve", {"reason": "again"}, "good"),
        ("POST", "/api/tasks/424242/approve", {}, "good"),
        ("POST", f"/api/tasks/{waiting[0]}/approve", {"reason": 5}, "good"),
        ("POST", f"/api/tasks/{waiting[1]}/reject", {"reason": " "}, "good"),
        ("POST", f"/api/tasks/{waiting[1]}/reject", "not json", "good"),
        ("POST", f"/api/tasks/{waiting[1]}/reject", {"reason": "dull"}, "none"),
        ("POST", f"/api/tasks/{waiting[1]}/reject", {"reason": "dull"}, "wrong"),
        ("POST", f"/api/tasks/{waiting[1]}/reject", {"reason": "dull"}, "good"),
        ("POST", f"/api/tasks/{ids.decided}/reject", {"reason": "late"}, "good"),
        ("POST", "/api/tasks/424242/reject", {"reason": "x"}, "good"),
        ("POST", f"/api/experiments/{run}/goal", {"goal": "reach the red block"}, "good"),
        ("POST", f"/api/experiments/{run}/goal", {"goal": "juggle"}, "good"),
        ("POST", f"/api/experiments/{run}/goal", {"goal": ""}, "good"),
        ("POST", f"/api/experiments/{run}/goal", {"goal": "reach the red block"}, "none"),
        ("POST", f"/api/experiments/{run}/goal", {"goal": "reach the red block"}, "wrong"),
        ("POST", "/api/experiments/424242/goal", {"goal": "reach the red block"}, "good"),
        ("POST", f"/api/experiments/{ids.finished}/goal", {"goal": "reach the red block"}, "good"),
        ("POST", f"/api/experiments/{run}/control", {"kind": "pause"}, "good"),
        ("POST", f"/api/experiments/{run}/control", {"kind": "explode"}, "good"),
        ("POST", f"/api/experiments/{run}/control", {"kind": "stop"}, "none"),
        ("POST", f"/api/experiments/{run}/control", {"kind": "stop"}, "wrong"),
        ("POST", "/api/experiments/424242/control", {"kind": "stop"}, "good"),
        ("POST", f"/api/experiments/{ids.finished}/control", {"kind": "stop"}, "good"),
    ]  # fmt: skip
    return [("GET", url, None, "none") for url in gets] + posts


def _operation(spec: dict[str, Any], method: str, url: str) -> tuple[str, dict[str, Any]]:
    """The documented operation serving ``url`` (literal segments win over parameters)."""
    path = url.split("?")[0]
    found = []
    for template, ops in spec["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in ops:
            found.append((template.count("{"), template, ops[method.lower()]))
    assert found, f"{method} {path} is not in the OpenAPI document"
    _, template, op = min(found, key=lambda f: f[0])
    return f"{method} {template}", op


def _damage_the_video(db: Database, ids: Seeded) -> None:
    assert db.artifacts is not None
    (stored,) = (p for p in db.artifacts.root.rglob(f"{ids.video}*") if p.is_file())
    stored.chmod(0o644)
    stored.write_bytes(b"GIF89a not what was stored")


def test_every_answer_is_one_the_openapi_document_declares(
    client: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    db, ids = seeded
    spec = client.get("/openapi.json").json()
    seen: dict[str, set[str]] = defaultdict(set)
    headers = {"good": {"Authorization": f"Bearer {TOKEN}"}, "none": {}}
    headers["wrong"] = {"Authorization": "Bearer not-the-token"}
    for method, url, body, token in [*_cases(ids), ("GET", f"/artifacts/{ids.video}", 0, "")]:
        if body == 0:  # the artifact again, now damaged on disk
            _damage_the_video(db, ids)
            body = None
        if isinstance(body, str):
            r = client.request(method, url, content=body, headers=headers["good"])
        else:
            r = client.request(method, url, json=body, headers=headers.get(token, {}))
        name, op = _operation(spec, method, url)
        where = f"{method} {url} -> {r.status_code}: {r.text[:200]}"
        declared = op["responses"].get(str(r.status_code))
        assert declared is not None, f"undeclared status: {where}"
        seen[name].add(str(r.status_code))
        media = r.headers.get("content-type", "(none)").split(";")[0]
        content = declared.get("content", {})
        assert media in content, f"{media} not declared ({sorted(content)}): {where}"
        if media == "application/json":
            schema = {"components": spec["components"], **content[media]["schema"]}
            errors = list(Draft202012Validator(schema).iter_errors(r.json()))
            assert not errors, f"{where}\n{errors[0].message} at {list(errors[0].path)}"
        if r.status_code >= 400 and media == "application/json":
            assert isinstance(r.json()["detail"], str) and r.json()["detail"], where

    # Every operation was tried, and every status it declares is one it was seen to send.
    differ = {
        f"{method.upper()} {template}": (sorted(op["responses"]), sorted(seen[name]))
        for template, ops in spec["paths"].items()
        for method, op in ops.items()
        if set(op["responses"]) != seen[name := f"{method.upper()} {template}"]
    }
    assert not differ, f"declared vs seen: {differ}"


def test_the_documented_largest_page_is_served(
    client: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    db, ids = seeded
    with db.session() as s:
        for _ in range(1001):
            enqueue_command(s, kind="pause", experiment_id=ids.running, created_by="test")
    for url in ["/api/experiments", "/api/tasks", "/api/decisions", "/api/commands"]:
        r = client.get(url, params={"limit": 1000})
        assert r.status_code == 200, (url, r.text)
    first = client.get("/api/commands", params={"limit": 1000}).json()
    assert len(first["items"]) == 1000 and first["next_before"] == first["items"][-1]["id"]
    rest = client.get("/api/commands", params={"limit": 1000, "before": first["next_before"]})
    total = len(first["items"]) + len(rest.json()["items"])
    assert rest.json()["next_before"] is None and total >= 1001
    too_many = client.get("/api/commands", params={"limit": 1001})
    assert too_many.status_code == 422
    assert "limit: Input should be less than or equal to 1000" in too_many.json()["detail"]


@pytest.mark.parametrize("url", ["/api/experiments", "/experiments", "/review"])
def test_a_crashed_daemon_shows_as_stale_on_the_dashboard(
    client: TestClient, seeded: tuple[Database, Seeded], url: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from storage.models import Experiment

    db, ids = seeded
    with db.session() as s:
        old = datetime.now(UTC) - timedelta(minutes=5)
        s.execute(update(Experiment).where(Experiment.id == ids.running).values(heartbeat_at=old))
    r = client.get(url)
    assert r.status_code == 200
    if url.startswith("/api/"):
        run = next(e for e in r.json()["items"] if e["id"] == ids.running)
        assert run["status"] == "running" and run["stale"] is True and run["alive"] is False
        assert run["state"].startswith("stale (no heartbeat for 5 min; the daemon may have")
        paused = next(e for e in r.json()["items"] if e["id"] == ids.paused)
        assert paused["stale"] is False and paused["state"] == "paused"  # beat recently
    else:
        assert 'class="badge s-stale" title="stale (no heartbeat for 5 min' in r.text
    detail = client.get(f"/experiments/{ids.running}").text
    assert "stale (no heartbeat for 5 min; the daemon may have crashed" in detail
