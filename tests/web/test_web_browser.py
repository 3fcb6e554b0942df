"""End to end in a real headless Chromium: what a person does on the dashboard.

The dashboard runs under uvicorn on a free loopback port over a copy of the seeded
database; Debian's Chromium (``/usr/bin/chromium``, installed by ``.ci/run``) is driven by
Playwright. These tests never skip: a missing browser is a failure. A screenshot of each
main page is saved under ``tests/artifacts/screenshots/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from conftest import TOKEN
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from pydantic import SecretStr
from web_seed import Seeded

from storage import Database, commands, runs
from storage.database import ARTIFACTS_DIR, DB_FILE
from web.app import create_app
from web.config import WebSettings

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


class Dashboard:
    """A running dashboard: its URL and the database under it."""

    def __init__(self, url: str, db: Database, ids: Seeded):
        self.url, self.db, self.ids = url, db, ids


@pytest.fixture(scope="module")
def dashboard(
    seeded_template: tuple[Path, Seeded], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    source, ids = seeded_template
    home = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(source, home)
    db = Database(f"sqlite:///{home / DB_FILE}", artifacts_dir=home / ARTIFACTS_DIR)
    settings = WebSettings(home=home, token=SecretStr(TOKEN), poll_seconds=0.5)
    config = uvicorn.Config(
        create_app(settings, db=db), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Dashboard(f"http://127.0.0.1:{port}", db, ids)
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"the page logged errors: {errors}"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def images_loaded(page: Page, selector: str) -> bool:
    return bool(
        page.eval_on_selector_all(
            selector, "els => els.length > 0 && els.every(e => e.complete && e.naturalWidth > 0)"
        )
    )


def test_the_experiments_page_updates_live(page: Page, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.url}/experiments")
    row = page.locator(f"#experiments tr[data-id='{dashboard.ids.running}']")
    expect(row).to_contain_text("stack-red-on-blue")
    expect(row).to_contain_text("iteration 6")
    expect(row.locator(".env-steps")).to_have_text("640,000")
    shot(page, "experiments")
    with dashboard.db.session() as s:
        runs.heartbeat(s, experiment_id=dashboard.ids.running, env_steps=777_777)
    expect(row.locator(".env-steps")).to_have_text("777,777", timeout=5000)  # no reload
    row.get_by_role("link", name="stack-red-on-blue").click()
    expect(page.locator("h1")).to_contain_text("stack-red-on-blue")
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "experiment")


def test_search_the_library_and_open_a_skill(page: Page, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.url}/skills")
    expect(page.locator("#skills tbody tr")).to_have_count(11)
    shot(page, "skills")
    page.get_by_label("search skills").fill("stack blue")
    page.get_by_label("search skills").press("Enter")
    expect(page).to_have_url(f"{dashboard.url}/skills?q=stack+blue")
    rows = page.locator("#skills tbody tr")
    expect(rows.first).to_contain_text("put the red block on the blue block")
    shot(page, "skills_search")
    page.get_by_label("search skills").fill("lift")
    page.get_by_label("search skills").press("Enter")
    page.get_by_role("link", name="lift the red block", exact=True).click()
    expect(page.locator("h1")).to_contain_text("lift the red block")
    expect(page.get_by_text("pick the red cube up")).to_be_visible()
    expect(page.locator("#rollout")).to_be_visible()
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert images_loaded(page, "img.plot")
    shot(page, "skill")


def test_approve_a_proposal_and_the_command_reaches_the_database(
    page: Page, dashboard: Dashboard
) -> None:
    waiting = dashboard.ids.waiting[0]
    page.goto(f"{dashboard.url}/review")
    card = page.locator(f"#proposal-{waiting}")
    expect(card.get_by_role("button", name="Approve")).to_be_disabled()
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Signed in")
    card.locator("textarea").fill("the two-block stack is nearly learned")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_contain_text("Approval queued")
    expect(page.locator(f"#proposal-{waiting} .pending")).to_contain_text("approve queued")
    shot(page, "review")
    with dashboard.db.reader() as s:
        [cmd] = [c for c in commands.list_commands(s, status="pending") if c.kind == "approve"]
        assert cmd.payload == {
            "task_id": waiting,
            "reason": "the two-block stack is nearly learned",
            "actor": "dashboard",
        }
        assert cmd.created_by == "dashboard" and cmd.experiment_id == dashboard.ids.running


def test_the_curriculum_and_the_decisions(page: Page, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.url}/curriculum")
    task = page.locator(f"#task-{dashboard.ids.decided}")
    expect(task).to_contain_text("put the red block on the blue block")
    expect(task.locator("ul li")).to_have_count(3)
    shot(page, "curriculum")
    page.goto(f"{dashboard.url}/decisions")
    page.get_by_label("Outcome").select_option("error")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#decisions tbody tr")).to_have_count(1)
    expect(page.locator("#decisions")).to_contain_text("429 RESOURCE_EXHAUSTED")
    page.goto(f"{dashboard.url}/decisions")
    shot(page, "decisions")
    page.get_by_role("link", name=str(dashboard.ids.decision["analyze"]), exact=True).click()
    expect(page.locator("h1")).to_contain_text("analyze")
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert images_loaded(page, ".images img")
    shot(page, "decision")
