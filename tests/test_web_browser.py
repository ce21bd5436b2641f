"""The explorer in a real browser: Debian's chromium, headless, driven by Playwright for Python.

One database is filled once for the module through the real store (a prison run with day
summaries, leakage, scores and a hostile message; a run still going; a finished batch and one
waiting to run; a chatroom that converged; a telephone chain; a backrooms run), `simulator
explore` serves it from a child process, and each test opens pages as a researcher would.
Every page is checked for console errors (a Content-Security-Policy violation is one) and
saved as a screenshot under the module's temporary folder.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from pathlib import Path

import pytest
from bson import ObjectId
from playwright.async_api import async_playwright

from scripted import ScriptedModel, is_summary_call, speaker_of
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.actions.leasing import HOST, new_owner
from simulator.batch.plan import create_batch
from simulator.batch.runner import run_batch
from simulator.config import Settings
from simulator.core.conversation import Status, Usage
from simulator.llm.factory import ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.protocols.roles import role_batch, role_spec
from simulator.store import Message, connect
from simulator.store.leases import LeaseRecord
from simulator.store.scores import MessageScore
from test_web_server import Explorer

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small_prison.yaml"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium reaches out at start, and this machine refuses it.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = "<script>window.__pwned = 1</script> \x1b[31mALERT\x1b[0m & <b>bold</b>"
PRISON_REPLIES = ["Stay back from the gate.", "Let me out.\nUser: and then the rest of the story", HOSTILE,
                  "The yard is cold today.", "Line up for the count.", "I am counting too."]
CYAN, MAGENTA = "rgb(14, 116, 144)", "rgb(162, 28, 175)"  # guard and prisoner: the terminal's first two colours
LIVE_WAIT = 15_000  # milliseconds a live update may take (the streams look every 1-2 s)


@dataclass(frozen=True)
class Data:
    experiment: ObjectId
    prison: ObjectId
    running: ObjectId
    batch: ObjectId
    waiting_batch: ObjectId
    chatroom: ObjectId
    telephone: ObjectId
    backrooms: ObjectId


@pytest.fixture(scope="module")
def web_settings(mongodb_uri, ollama_host) -> Settings:
    return Settings(mongodb_uri=mongodb_uri, db_name=f"test_web_{uuid.uuid4().hex[:10]}", ollama_host=ollama_host,
                    user="alice", db_timeout_ms=5000)


@pytest.fixture(scope="module")
async def web_store(web_settings):
    store = await connect(web_settings)
    yield store
    await store.client.drop_database(web_settings.db_name)
    await store.close()


def prison_script(messages, options, n):
    return "The day passed slowly." if is_summary_call(messages) else PRISON_REPLIES.pop(0)


def echo(messages, options, n):
    return "summary" if is_summary_call(messages) else f"{speaker_of(messages)} here."


async def prison_run(store, settings, experiment) -> ObjectId:
    spec = role_spec(llm=experiment.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=6,
                     days=2, seed=5)
    cid = await conv.create(store, settings.user, experiment, spec)
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(prison_script))
    await store.scores.save_many([MessageScore(cid, i, "classifier", {"toxicity": 0.1 + 0.15 * i}) for i in range(6)])
    return cid


async def running_run(store, settings, experiment) -> ObjectId:
    """A run that has started, holds its lease (this process, for an hour) and stored one message; the
    test adds the next one."""
    spec = role_spec(llm=experiment.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=4,
                     seed=6)
    cid = await conv.create(store, settings.user, experiment, spec)
    claimed = datetime.now(timezone.utc)
    assert await store.leases.claim(LeaseRecord(cid, 1, new_owner(), HOST, os.getpid(), "test", claimed,
                                                claimed + timedelta(hours=1)))
    await store.conversations.start_run(cid, 1)
    guard = next(a for a in (await store.conversations.get(cid)).agents if a.role == "guard")
    await store.messages.append(Message(cid, 0, 0, "guard", guard.name, "First words of the morning."))
    return cid


async def batch(store, settings, experiment, run: bool) -> ObjectId:
    plan = role_batch(llms=experiment.experiment.llms, max_agents={"guard": 2, "prisoner": 1}, every_combination=True,
                      n_messages=3, repeats=2 if run else 1, seed=8)
    planned = await create_batch(store, settings.user, experiment, plan)
    if run:
        await run_batch(store, settings, planned.id, ModelSettings(), model_for=lambda cid: ScriptedModel(echo))
    return planned.id


async def protocol_run(store, settings, name: str, values: dict, script) -> ObjectId:
    """The first cell of the protocol's plan for these answers, run on a scripted model."""
    spec = PROTOCOLS[name].plan(values, Common(seed=4)).cells(4)[0].spec
    cid = await conv.create(store, settings.user, None, spec)
    await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(script))
    return cid


@pytest.fixture(scope="module")
async def data(web_store, web_settings, tmp_path_factory) -> Data:
    store, settings = web_store, web_settings
    experiment = await import_file(store, settings.user, SMALL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIM_LOG_DIR", str(tmp_path_factory.mktemp("logs")))  # backrooms writes a log file
        backrooms = await protocol_run(store, settings, "backrooms", {
            "lm": [["ollama/sim-tiny", "ollama/sim-tiny"]], "templates": ["cli"], "max_turns": 3},
            ["ls", "notes.txt", "cat notes.txt", "the notes", "exit", "bye"])
    return Data(
        experiment=experiment.id, prison=await prison_run(store, settings, experiment),
        running=await running_run(store, settings, experiment),
        batch=await batch(store, settings, experiment, run=True),
        waiting_batch=await batch(store, settings, experiment, run=False),
        chatroom=await protocol_run(store, settings, "chatroom", {
            "models": [["ollama/sim-tiny", "ollama/sim-tiny"]], "max_iterations": 30, "initial_prompts": ["Hi."]},
            lambda m, o, n: "Tell me more." if n == 0 else ("Ping." if n % 2 else "Pong.")),
        telephone=await protocol_run(store, settings, "telephone", {
            "llm": "ollama/sim-tiny", "texts": None, "generations": 3},
            lambda m, o, n: ["The bus came late.", "The bus was late and it rained hard on me.",
                             "I walked home in a terrible, cold, endless rain."][n]),
        backrooms=backrooms)


@pytest.fixture(scope="module")
def explorer(web_settings, data, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "MONGODB_", "OLLAMA_", "OPENAI_", "SIM_"))}
    env.update(MONGODB_URI=web_settings.mongodb_uri, DB_NAME=web_settings.db_name,
               OLLAMA_HOST=web_settings.ollama_host, SIM_USER="bob", SIM_LOG_DIR=str(tmp_path_factory.mktemp("xlog")))
    server = Explorer(env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
async def browser(tmp_path_factory):
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield context
        await context.close()


class Visit:
    """A browser tab on the explorer that records console errors and saves screenshots."""

    def __init__(self, tab, base: str, shots: Path):
        self.tab, self.base, self.shots, self.errors = tab, base, shots, []
        tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: self.errors.append(str(e)))

    async def open(self, path: str):
        response = await self.tab.goto(self.base + path)
        assert response.status == 200, path
        return self.tab

    async def shot(self, name: str) -> None:
        await self.tab.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        assert self.errors == []


@pytest.fixture
async def visit(browser, explorer, shots):
    tab = await browser.new_page()
    yield Visit(tab, explorer.base, shots)
    await tab.close()


async def test_experiments_list_and_an_experiment_with_its_prompts(visit, data):
    tab = await visit.open("/experiments")
    row = tab.locator("#experiments tbody tr", has_text="Small prison")
    assert await row.count() == 1
    cells = await row.locator("td").all_inner_texts()
    assert cells[1] == "alice" and "ollama/sim-tiny" in cells[6] and cells[7] == "14" and cells[8] == "2"
    await visit.shot("experiments")
    await row.locator("a").click()
    await tab.wait_for_url(f"**/experiments/{data.experiment}")
    await tab.fill("input[name='n.guard']", "2")
    await tab.click("form.filters button")
    await tab.wait_for_url("**n.guard=2**")
    headings = await tab.locator("#prompts summary").all_inner_texts()
    assert headings[0] == "Starting message" and sum("(guard)" in h for h in headings) == 2
    assert await tab.locator("a[href^='/batches/']").count() >= 2
    await visit.shot("experiment")


async def test_a_transcript_with_days_summaries_colours_raw_replies_and_scores(visit, data):
    tab = await visit.open(f"/conversations/{data.prison}")
    messages = tab.locator("#transcript .msg")
    assert await messages.count() == 6
    assert await tab.locator("h3.section").all_inner_texts() == ["DAY 1", "DAY 2"]  # uppercase by the stylesheet
    assert await tab.locator(".summary").count() == 2
    guard = await tab.locator(".msg[data-role='guard'] .speaker").first.evaluate("e => getComputedStyle(e).color")
    prisoner = await tab.locator(".msg[data-role='prisoner'] .speaker").first.evaluate(
        "e => getComputedStyle(e).color")
    assert (guard, prisoner) == (CYAN, MAGENTA)
    leaked = tab.locator("#m-1")
    assert (await leaked.locator(".content").inner_text()) == "Let me out."
    assert "User: and then the rest of the story" in await leaked.locator(".raw del").last.inner_text()
    assert await tab.locator("#m-5 .scores li").inner_text() == "classifier.toxicity 0.85"
    await visit.shot("conversation")


async def test_a_hostile_message_is_shown_as_text(visit, data):
    tab = await visit.open(f"/conversations/{data.prison}")
    content = tab.locator("#m-2 .content")
    assert await content.inner_text() == HOSTILE.replace("\x1b", "\\x1b")
    assert await content.locator("script, b").count() == 0
    assert await tab.evaluate("typeof window.__pwned") == "undefined"
    await visit.shot("hostile-message")


async def test_a_running_conversation_gains_a_message_without_reloading(visit, data, web_store):
    tab = await visit.open(f"/conversations/{data.running}")
    assert await tab.locator("#transcript .msg").count() == 1
    assert await tab.locator("#status").inner_text() == "running"
    await tab.wait_for_selector("main.is-live")
    await tab.evaluate("window.__samePage = true")
    prisoner = next(a for a in (await web_store.conversations.get(data.running)).agents if a.role == "prisoner")
    await web_store.messages.append(Message(data.running, 1, 0, "prisoner", prisoner.name, "Good morning, guard."))
    await tab.wait_for_selector("#m-1", timeout=LIVE_WAIT)
    assert await tab.locator("#m-1 .content").inner_text() == "Good morning, guard."
    assert await tab.locator("#m-1 .speaker").evaluate("e => getComputedStyle(e).color") == MAGENTA
    assert await tab.locator("#count").inner_text() == "2"
    await web_store.conversations.finish(data.running, Status.COMPLETED, "stopped by the test", Usage(), 2)
    await tab.wait_for_function("() => document.getElementById('status').textContent === 'completed'",
                                timeout=LIVE_WAIT)
    assert await tab.evaluate("window.__samePage") is True
    await visit.shot("conversation-live")


async def test_a_batch_grid_and_one_that_fills_in_live(visit, data, web_store, web_settings):
    tab = await visit.open(f"/batches/{data.batch}")
    cells = tab.locator("#cells td.cell")
    assert await cells.count() == 8  # 2 LLM settings x (1v1, 2v1) x 2 repeats
    assert set(await cells.evaluate_all("cs => cs.map(c => c.dataset.status)")) == {"completed"}
    assert await tab.locator("#cells thead th").all_inner_texts() == ["llm", "days", "agent counts", "repeat 1",
                                                                      "repeat 2"]
    assert "3 / 3 messages" in await cells.first.inner_text()
    await visit.shot("batch")

    tab = await visit.open(f"/batches/{data.waiting_batch}")
    waiting = tab.locator("#cells td.cell")
    assert set(await waiting.evaluate_all("cs => cs.map(c => c.dataset.status)")) == {"pending"}
    await tab.wait_for_selector("main.is-live")
    await tab.evaluate("window.__samePage = true")
    await run_batch(web_store, web_settings, data.waiting_batch, ModelSettings(),
                    model_for=lambda cid: ScriptedModel(echo))
    await tab.wait_for_function(
        "() => [...document.querySelectorAll('#cells td.cell')].every(c => c.dataset.status === 'completed')",
        timeout=LIVE_WAIT)
    assert await tab.locator("#done").inner_text() == "4" and await tab.evaluate("window.__samePage") is True
    await visit.shot("batch-live")


async def test_an_analysis_figure_and_its_csv(visit, data):
    tab = await visit.open(f"/experiments/{data.experiment}/analysis")
    figure = tab.locator("#figures img[alt='toxicity_over_conversation.png']")
    await figure.scroll_into_view_if_needed()
    await tab.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert await figure.evaluate("i => i.naturalWidth") > 300
    link = tab.locator("a[download]", has_text="scores_by_role.csv")
    download = await tab.request.get(visit.base + await link.get_attribute("href"))
    assert download.ok and (await download.text()).startswith("model,")
    await visit.shot("analysis")


async def test_protocol_views_chatroom_cycle_telephone_curves_backrooms_side_by_side(visit, data):
    tab = await visit.open(f"/conversations/{data.chatroom}")
    assert "period 2" in await tab.locator("#cycle").inner_text()
    assert await tab.locator(".msg.cycle").count() == 3
    await visit.shot("chatroom")

    tab = await visit.open(f"/conversations/{data.telephone}")
    assert await tab.locator("#generations .generation").count() == 4  # the initial text and 3 generations
    assert await tab.locator("#charts svg.chart").count() == 6
    assert await tab.locator("#charts svg.chart").first.locator("circle").count() == 4
    await visit.shot("telephone")

    tab = await visit.open(f"/conversations/{data.backrooms}")
    assert await tab.locator("#rounds thead th").all_inner_texts() == ["round", "Sim-Tiny 1", "Sim-Tiny 2"]
    assert await tab.locator("#rounds tbody tr").count() == 3
    await visit.shot("backrooms")

    tab = await visit.open("/search?q=yard+is+cold")
    assert await tab.locator("#hits mark").inner_text() == "yard is cold"
    await visit.shot("search")
