"""The micro-cache: anonymous reads share an answer for a moment; people who steer never do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TOKEN, make_client
from fastapi.testclient import TestClient
from web_seed import Seeded

from storage import Database, runs
from web.cache import MicroCache

TTL = 0.4
HIT = "x-dashboard-cache"


@pytest.fixture
def cached(seeded: tuple[Database, Seeded], tmp_path: Path) -> Iterator[TestClient]:
    with make_client(seeded[0], tmp_path, cache_seconds=TTL) as c:
        yield c


def _heartbeat(db: Database, experiment_id: int, env_steps: int) -> None:
    with db.session() as s:
        runs.heartbeat(s, experiment_id=experiment_id, env_steps=env_steps)


def test_anonymous_reads_share_an_answer_until_it_expires(
    cached: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    db, ids = seeded
    first = cached.get("/experiments/rows")
    assert "640,000" in first.text and HIT not in first.headers
    _heartbeat(db, ids.running, 712_345)
    again = cached.get("/experiments/rows")
    assert again.headers[HIT] == "hit" and "640,000" in again.text
    assert again.headers["x-frame-options"] == "DENY"  # the security headers are kept
    assert cached.get("/experiments/rows?limit=5").headers.get(HIT) is None  # query is key
    time.sleep(TTL + 0.1)
    fresh = cached.get("/experiments/rows")
    assert "712,345" in fresh.text and HIT not in fresh.headers


def test_signed_in_viewers_and_token_calls_always_get_a_fresh_answer(
    cached: TestClient, seeded: tuple[Database, Seeded], auth: dict[str, str]
) -> None:
    db, ids = seeded
    signed_out = "need the dashboard token"
    assert signed_out in cached.get("/review").text
    assert cached.get("/api/experiments").status_code == 200
    _heartbeat(db, ids.running, 712_345)
    with_token = cached.get("/api/experiments", headers=auth)
    assert HIT not in with_token.headers and "712345" in with_token.text
    r = cached.post("/login", data={"token": TOKEN, "next": "/review"}, follow_redirects=False)
    assert r.status_code == 303
    signed_in = cached.get("/review")  # the client now sends the sign-in cookie
    assert HIT not in signed_in.headers and signed_out not in signed_in.text
    cached.cookies.clear()
    # The signed-in page was not kept for others (and signing in, a POST, emptied the cache).
    assert signed_out in cached.get("/review").text
    assert signed_out in cached.get("/review").text


def test_a_change_empties_the_cache(cached: TestClient, ids: Seeded, auth: dict[str, str]) -> None:
    task = ids.waiting[0]
    before = cached.get("/api/commands").json()
    assert cached.get("/api/commands").headers[HIT] == "hit"
    r = cached.post(f"/api/tasks/{task}/approve", json={"reason": "good rung"}, headers=auth)
    assert r.status_code == 202
    after = cached.get("/api/commands")
    assert HIT not in after.headers
    assert len(after.json()["items"]) == len(before["items"]) + 1


def test_errors_static_files_and_zero_seconds_are_never_cached(
    cached: TestClient, seeded: tuple[Database, Seeded], tmp_path: Path
) -> None:
    for url in ("/skills/999999", "/static/style.css", "/api/skills?limit=0"):
        cached.get(url)
        assert HIT not in cached.get(url).headers, url
    db, ids = seeded
    with make_client(db, tmp_path, cache_seconds=0) as uncached:
        uncached.get("/experiments/rows")
        _heartbeat(db, ids.running, 712_345)
        r = uncached.get("/experiments/rows")
        assert HIT not in r.headers and "712,345" in r.text


def test_the_cache_is_middleware_of_the_app(cached: TestClient) -> None:
    kinds = [m.cls for m in cached.app.user_middleware]  # type: ignore[attr-defined]
    assert MicroCache in kinds
