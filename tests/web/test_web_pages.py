"""The pages as a browser gets them, and the forms' protection against cross-site requests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_seed import Seeded

from storage import Database, commands
from web.security import COOKIE


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def _sign_in(client: TestClient, token: str) -> None:
    r = client.post("/login", data={"token": token, "next": "/review"}, follow_redirects=False)
    assert r.status_code == 303


def test_every_page_shows_what_it_is_about(client: TestClient, ids: Seeded) -> None:
    expect = {
        "/experiments": ["stack-red-on-blue", "push-ablation", "iteration 6", "collect"],
        f"/experiments/{ids.running}": ["Budgets", "32%", "Learning curves", "critic_loss"],
        "/skills": ["lift the red block", "pick the red cube up", '<svg class="spark"'],
        "/skills?q=stack": ["put the red block on the blue block", "Relevance"],
        f"/skills/{ids.skill['left']}": ["stalled at 10% for 150k steps", "failed"],
        f"/skills/{ids.skill['lift']}": [f"/artifacts/{ids.video}", "Used in", "lower bound 64%"],
        "/curriculum": ["build a tower of three", "found in the library", "duplicate"],
        "/decisions": ["429 RESOURCE_EXHAUSTED", "cached", "gemini-2.5-flash"],
        f"/decisions/{ids.decision['analyze']}": [f"/artifacts/{ids.images[1]}", "Prompt"],
        "/review": ["build a tower of three", "sign in", "Commands not yet taken"],
    }
    for url, needles in expect.items():
        r = client.get(url)
        assert r.status_code == 200, url
        for needle in needles:
            assert needle in r.text, (url, needle)


def test_signing_in_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    from conftest import TOKEN

    bad = client.post("/login", data={"token": "guess-guess"}, follow_redirects=False)
    assert bad.status_code == 401 and "is not the dashboard" in bad.text
    r = client.post(
        "/login", data={"token": TOKEN, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert r.headers["location"].startswith("/review")  # never off-site
    cookie = r.headers["set-cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie  # a digest, not the token


def test_forms_need_the_cookie_the_csrf_token_and_our_origin(
    client: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    from conftest import TOKEN

    db, ids = seeded
    url = f"/review/tasks/{ids.waiting[0]}/approve"
    csrf = _csrf(client.get("/review").text)
    anonymous = client.post(url, data={"csrf": csrf, "reason": "ok"}, follow_redirects=False)
    assert anonymous.status_code == 401 and "sign in" in anonymous.text
    _sign_in(client, TOKEN)
    stale = client.post(url, data={"csrf": "0" * 64}, follow_redirects=False)
    assert stale.status_code == 403 and "CSRF" in stale.text
    foreign = client.post(
        url, data={"csrf": csrf}, headers={"Origin": "http://evil.example"}, follow_redirects=False
    )
    assert foreign.status_code == 403
    with db.reader() as s:
        assert commands.list_commands(s, status="pending") == []
    ok = client.post(
        url,
        data={"csrf": csrf, "reason": "next rung"},
        headers={"Origin": "http://127.0.0.1:8000"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/review?done=approve"
    page = client.get(ok.headers["location"]).text
    assert "Approval queued" in page and "approve queued" in page
    with db.reader() as s:
        [cmd] = commands.list_commands(s, status="pending")
        assert (cmd.kind, cmd.payload, cmd.created_by) == (
            "approve",
            {"task_id": ids.waiting[0], "reason": "next rung", "actor": "dashboard"},
            "dashboard",
        )
    form = {"csrf": csrf, "next": f"/experiments/{ids.running}"}
    paused = client.post(
        f"/review/experiments/{ids.running}/pause", data=form, follow_redirects=False
    )
    assert paused.headers["location"] == f"/experiments/{ids.running}?done=pause"
    bad = client.post(f"/review/experiments/{ids.running}/explode", data=form)
    assert bad.status_code == 400 and "allowed: pause, resume, stop" in bad.text


def test_the_experiments_rows_refresh_with_the_database(
    client: TestClient, seeded: tuple[Database, Seeded]
) -> None:
    from storage import runs

    db, ids = seeded
    assert "640,000" in client.get("/experiments/rows").text
    with db.session() as s:
        runs.heartbeat(s, experiment_id=ids.running, env_steps=712_345)
    assert "712,345" in client.get("/experiments/rows").text


def _workers_table(html: str) -> list[list[str]]:
    """The cells of the experiment page's Workers table, as text."""
    section = html.split("<h2>Workers</h2>", 1)[1].split("</table>", 1)[0]
    body = section.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_the_experiment_page_lists_the_workers_that_collected(
    client: TestClient, ids: Seeded
) -> None:
    # node, actor, episodes, env steps, the experiment's env steps at its newest round
    assert _workers_table(client.get(f"/experiments/{ids.running}").text) == [
        ["5e1f0a2b3c4d", "9a8b7c6d5e4f", "32", "3,200", "480,000"],
        ["7d3c2b1a0f9e", "1f2e3d4c5b6a", "24", "1,200", "400,000"],
    ]
    assert _workers_table(client.get(f"/experiments/{ids.paused}").text) == [
        ["local", "in process", "10", "1,000", "0"]
    ]
    assert _workers_table(client.get(f"/experiments/{ids.finished}").text) == [
        ["No worker recorded yet."]
    ]
