"""The explorer's fork tree and two continuations side by side, in headless Chromium."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from scripted import ScriptedModel, is_summary_call
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.actions.forks import ForkChanges, create_forks
from simulator.config import Settings
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_spec
from simulator.store import connect
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, SMALL, Visit
from test_web_server import Explorer

SHOTS = Path(os.environ.get("SIM_SCREENSHOTS", "/tmp/simulator-screenshots"))


def script(prefix: str):
    return lambda messages, options, n: "The day passed." if is_summary_call(messages) else f"{prefix} line {n}."


@pytest.fixture(scope="module")
async def forked(mongodb_uri, ollama_host):
    settings = Settings(mongodb_uri=mongodb_uri, db_name=f"test_forks_{uuid.uuid4().hex[:10]}",
                        ollama_host=ollama_host, user="alice", db_timeout_ms=5000)
    store = await connect(settings)
    experiment = await import_file(store, "alice", SMALL)
    spec = role_spec(llm=experiment.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=6, days=2, seed=3)
    source = await conv.create(store, "alice", experiment, spec)
    await conv.run(store, settings, source, ModelSettings(), model=ScriptedModel(script("Source")))
    forks = await create_forks(store, "alice", [await store.conversations.get(source)], 3,
                               [ForkChanges(temperature=1.5), ForkChanges(llm="ollama/other")], 1, {}, seed=4)
    for fork, name in zip(forks, ("Hot", "Other")):
        await conv.run(store, settings, fork.conversation_id, ModelSettings(), model=ScriptedModel(script(name)))
    yield settings, source, [f.conversation_id for f in forks]
    await store.client.drop_database(settings.db_name)
    await store.close()


async def test_the_fork_tree_and_two_continuations_side_by_side(forked, tmp_path):
    settings, source, (hot, other) = forked
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "MONGODB_", "OLLAMA_", "SIM_"))}
    env.update(MONGODB_URI=settings.mongodb_uri, DB_NAME=settings.db_name, OLLAMA_HOST=settings.ollama_host,
               SIM_USER="bob", SIM_LOG_DIR=str(tmp_path / "logs"))
    server = Explorer(env)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            visit = Visit(await browser.new_page(viewport={"width": 1280, "height": 900}), server.base, SHOTS)
            tab = await visit.open(f"/conversations/{hot}")
            assert f"fork of {source} at message 3" in await tab.locator("#lineage").inner_text()
            await tab.click("#lineage a:text('fork tree')")
            rows = await tab.locator("#fork-tree tbody tr").all_inner_texts()
            assert len(rows) == 3 and "the source" in rows[0]
            assert "temperature=1.5" in rows[1] and "llm=ollama/other" in rows[2]
            await visit.shot("fork-tree")
            await tab.locator("#fork-tree tbody tr").nth(1).locator("input[name='a']").check()
            await tab.locator("#fork-tree tbody tr").nth(2).locator("input[name='b']").check()
            await tab.click("#compare-form button")
            await tab.wait_for_url("**/forks/compare**")
            assert "from message 3" in await tab.locator("h1").inner_text()
            columns = await tab.locator("#continuations tbody td").all_inner_texts()
            assert "Hot line 0." in columns[0] and "Other line 0." in columns[1]
            assert "Source" not in columns[0] + columns[1]  # the shared prefix is folded away above
            assert "3 shared message(s)" in await tab.locator("#shared summary").inner_text()
            await visit.shot("fork-compare")
            await browser.close()
    finally:
        server.stop()
