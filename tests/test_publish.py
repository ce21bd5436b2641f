"""`simulator publish`: a batch as a static site, opened from file:// in headless Chromium with every
request that is not file:// refused, showing a transcript (days, summaries, cut replies, colours),
the batch grid and a figure; bad input is one line and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from scripted import ScriptedModel, is_summary_call
from simulator.batch.plan import create_batch
from simulator.batch.runner import run_batch
from simulator.actions.experiments import import_file
from simulator.config import Settings
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_batch
from simulator.store import connect
from simulator.store.labels import PERSON, OutcomeLabel
from simulator.web.publish import localise
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, SMALL

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("SIM_SCREENSHOTS", "/tmp/simulator-screenshots"))
CYAN = "rgb(14, 116, 144)"  # the guard's colour, as in the explorer


def test_links_become_relative_and_pages_the_site_lacks_become_plain_text():
    known = {"a" * 24, "b" * 24}
    html = (f'<link href="/static/explorer.css?v=1"><a href="/conversations/{"a" * 24}">x</a>'
            f'<a href="/search?q=1">s</a><a href="?view=side">v</a><a href="/conversations/{"c" * 24}">gone</a>'
            f'<img src="/analysis/files/k/rates.png"><a href="/batches/{"b" * 24}/analysis">an</a>')
    assert localise(html, 1, known) == (
        f'<link href="../static/explorer.css"><a href="../conversations/{"a" * 24}.html">x</a>'
        f'<a>s</a><a>v</a><a>gone</a><img src="../analysis/rates.png"><a>an</a>')


def script(messages, options, n):
    if is_summary_call(messages):
        return "The day passed slowly."
    return f"Stay back, number {n}.\nUser: and the rest of the story" if n % 3 == 0 else f"Line {n}."


@pytest.fixture(scope="module")
async def published_batch(mongodb_uri, ollama_host):
    settings = Settings(mongodb_uri=mongodb_uri, db_name=f"test_publish_{uuid.uuid4().hex[:10]}",
                        ollama_host=ollama_host, user="alice", db_timeout_ms=5000)
    store = await connect(settings)
    experiment = await import_file(store, "alice", SMALL)
    plan = role_batch(llms=experiment.experiment.llms, max_agents={"guard": 2, "prisoner": 1}, every_combination=True,
                      n_messages=6, days=2, repeats=2, seed=8)
    planned = await create_batch(store, "alice", experiment, plan)
    await run_batch(store, settings, planned.id, ModelSettings(), model_for=lambda cid: ScriptedModel(script))
    runs = await store.conversations.find(batch_id=planned.id)
    await store.labels.save_many([OutcomeLabel(c.id, "alice", PERSON, ("Yes", "No", "NotTried")[n % 3])
                                  for n, c in enumerate(runs)])  # labelled runs: the persuasion figure is drawn
    yield settings, planned.id
    await store.client.drop_database(settings.db_name)
    await store.close()


def simulator(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "MONGODB_", "OLLAMA_", "SIM_"))}
    env.update(MONGODB_URI=settings.mongodb_uri, DB_NAME=settings.db_name, SIM_USER="alice")
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


def test_bad_input_is_one_line_and_writes_nothing(published_batch, tmp_path):
    settings, batch_id = published_batch
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    taken = simulator(settings, "publish", str(batch_id), "-o", str(tmp_path / "full"))
    assert taken.returncode != 0 and "exists and is not an empty folder" in taken.stderr
    assert "Traceback" not in taken.stderr and os.listdir(tmp_path / "full") == ["keep.txt"]
    unknown = simulator(settings, "publish", "no such experiment", "-o", str(tmp_path / "site"))
    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == ["full"]  # no site, no half-built folder


async def test_a_published_batch_works_from_file_urls_with_the_network_refused(published_batch, tmp_path):
    settings, batch_id = published_batch
    site = tmp_path / "site"
    done = simulator(settings, "publish", str(batch_id), "-o", str(site))
    assert done.returncode == 0, done.stderr
    assert "published 8 conversation(s)" in done.stdout and " KB" in done.stdout
    assert (site / "data" / "conversations.csv").read_text().count("\n") == 9
    assert mongodb_host(settings) not in "".join(p.read_text() for p in site.rglob("*.html"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    outside, errors = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        tab = await browser.new_page(viewport={"width": 1280, "height": 900})
        tab.on("pageerror", lambda e: errors.append(str(e)))

        async def refuse(route):
            if route.request.url.startswith("file://"):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await tab.route("**/*", refuse)
        await tab.goto((site / "index.html").as_uri())
        assert await tab.locator("#conversations tbody tr").count() == 8
        await tab.click("#batches a")
        assert await tab.locator("#grid td.cell a").count() == 8
        await tab.locator("#grid td.cell a").first.click()
        assert tab.url.startswith("file://") and tab.url.endswith(".html")
        assert await tab.locator("#transcript .msg").count() == 6
        assert await tab.locator("#transcript .summary").count() == 2 and "day 2" in (await tab.inner_text("#transcript")).lower()
        assert await tab.locator("#transcript .raw del").count() >= 1  # the cut reply, struck through
        guard = tab.locator("#transcript .msg[data-role='guard'] .speaker").first
        assert await guard.evaluate("e => getComputedStyle(e).color") == CYAN  # the stylesheet loaded
        await tab.screenshot(path=str(SHOTS / "published-transcript.png"), full_page=True)
        await tab.goto((site / "index.html").as_uri())
        await tab.click("#analyses a")
        figure = tab.locator("img").first
        await figure.scroll_into_view_if_needed()
        assert await figure.evaluate("i => i.complete && i.naturalWidth > 0")
        await tab.screenshot(path=str(SHOTS / "published-analysis.png"))
        await browser.close()
    assert outside == [] and errors == []


def mongodb_host(settings: Settings) -> str:
    return settings.mongodb_uri.split("://", 1)[1].split("/", 1)[0]
