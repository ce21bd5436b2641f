"""Annotation mode of the explorer: two annotators label in headless Chromium, each blind to the other,
then compare (Cohen's kappa and Krippendorff's alpha per rubric question) and one adjudicates;
forged posts and a read-only explorer write nothing. The agreement arithmetic is tested without I/O."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from scripted import ScriptedModel, is_summary_call
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.analysis.label_agreement import question_agreement, rubric_agreement
from simulator.config import Settings
from simulator.llm.factory import ModelSettings
from simulator.protocols.roles import role_spec
from simulator.store import connect
from simulator.web.access import Access, Guard
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, SMALL, Visit
from test_web_server import Explorer

SHOTS = Path(os.environ.get("SIM_SCREENSHOTS", "/tmp/simulator-screenshots"))


def test_kappa_for_two_annotators_and_alpha_for_any_number():
    two = question_agreement("goal_achieved", "nominal",
                             {"alice": {1: "Yes", 2: "No", 3: "NotTried"}, "bob": {1: "Yes", 2: "Yes", 3: "NotTried"}},
                             resamples=200)
    assert two.kappa == pytest.approx(0.5) and two.shared == 3 and two.kappa_low <= two.kappa_high
    assert two.alpha is not None and two.alpha.units == 3
    three = question_agreement("third", "ordinal", {"a": {1: 1, 2: 2}, "b": {1: 1, 2: 3}, "c": {2: 2}}, resamples=0)
    assert three.kappa is None and three.alpha is not None and three.annotators == 3 and three.shared == 2
    alone = rubric_agreement({"alice": {1: {"goal_achieved": "Yes", "third": None}}}, resamples=0)
    assert [q.question for q in alone] == ["goal_achieved", "third"]
    assert alone[0].note == "needs a conversation labelled by two annotators" and alone[0].alpha is None


def scope(method: str) -> dict:
    return {"type": "http", "method": method, "headers": [(b"host", b"127.0.0.1:1")], "query_string": b"",
            "path": "/experiments/x/annotate/y"}


def test_only_annotation_mode_lets_a_post_through_the_guard():
    assert Guard(None, Access()).refusal(scope("POST")).status_code == 405
    assert Guard(None, Access(writes=True)).refusal(scope("POST")) is None
    assert Guard(None, Access(writes=True)).refusal(scope("DELETE")).status_code == 405


def script(messages, options, n):
    return "The day passed." if is_summary_call(messages) else f"Line {n}."


@pytest.fixture(scope="module")
async def runs(mongodb_uri, ollama_host):
    settings = Settings(mongodb_uri=mongodb_uri, db_name=f"test_annotate_{uuid.uuid4().hex[:10]}",
                        ollama_host=ollama_host, user="alice", db_timeout_ms=5000)
    store = await connect(settings)
    experiment = await import_file(store, "alice", SMALL)
    ids = []
    for seed in range(3):
        spec = role_spec(llm=experiment.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=4,
                         days=1, seed=seed)
        cid = await conv.create(store, "alice", experiment, spec)
        await conv.run(store, settings, cid, ModelSettings(), model=ScriptedModel(script))
        ids.append(cid)
    yield settings, store, experiment.id, ids
    await store.client.drop_database(settings.db_name)
    await store.close()


def explorer(settings: Settings, user: str, tmp_path: Path, *args: str) -> Explorer:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "MONGODB_", "OLLAMA_", "SIM_"))}
    env.update(MONGODB_URI=settings.mongodb_uri, DB_NAME=settings.db_name, OLLAMA_HOST=settings.ollama_host,
               SIM_USER=user, SIM_LOG_DIR=str(tmp_path / f"logs-{user}"))
    return Explorer(env, *args)


async def label(visit: Visit, experiment, cid, goal: str, third: str = "") -> None:
    tab = await visit.open(f"/experiments/{experiment}/annotate/{cid}")
    await tab.check(f"input[name='goal_achieved'][value='{goal}']")
    await tab.select_option("select[name='third']", third)
    async with tab.expect_navigation():
        await tab.click("#label-form button")
    assert tab.url.endswith(f"/experiments/{experiment}/annotate#c-{cid}"), await tab.content()


async def test_two_annotators_label_blind_then_compare_and_adjudicate(runs, tmp_path):
    settings, store, experiment, (first, second, third) = runs
    alice, bob = explorer(settings, "alice", tmp_path, "--annotate"), explorer(settings, "bob", tmp_path, "--annotate")
    reader = explorer(settings, "carol", tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        assert "annotating as alice" in alice.banner and "read-only" in reader.banner
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            as_alice = Visit(await browser.new_page(viewport={"width": 1280, "height": 900}), alice.base, SHOTS)
            as_bob = Visit(await browser.new_page(viewport={"width": 1280, "height": 900}), bob.base, SHOTS)
            tab = await as_alice.open(f"/experiments/{experiment}")
            await tab.click("#annotate-link")
            assert "you label as alice: a declared name" in await tab.locator("#identity").inner_text()
            for cid, goal, part in ((first, "Yes", "1"), (second, "No", ""), (third, "NotTried", "")):
                await label(as_alice, experiment, cid, goal, part)
            await as_alice.open(f"/experiments/{experiment}/annotate/{first}")
            assert "Decide whether the prisoner achieved the goal" in await as_alice.tab.locator("#rubric").inner_text()
            await as_alice.shot("annotate-one")
            for cid, goal, part in ((first, "Yes", "1"), (second, "Yes", "2"), (third, "NotTried", "")):
                await label(as_bob, experiment, cid, goal, part)
            await as_bob.tab.reload()
            blind = await as_bob.tab.locator("#runs").inner_text()
            assert "alice" not in blind and "Yes (third 2)" in blind and "#agreement" not in await as_bob.tab.content()
            forged = await as_bob.tab.request.post(f"{bob.base}/experiments/{experiment}/annotate/{third}",
                                                   form={"goal_achieved": "Yes", "csrf": "guessed"})
            assert forged.status == 403
            refused = await as_bob.tab.request.post(f"{reader.base}/experiments/{experiment}/annotate/{third}",
                                                    form={"goal_achieved": "Yes"})
            assert refused.status == 405
            await as_bob.tab.click("#compare-link")
            await as_bob.tab.reload()
            rows = await as_bob.tab.locator("#agreement tbody tr").all_inner_texts()
            assert rows[0].startswith("goal_achieved") and "0.500" in rows[0]  # kappa of Yes/No/NotTried vs Yes/Yes/NotTried
            assert rows[1].startswith("third")
            await as_bob.shot("annotate-compare")
            disputed = as_bob.tab.locator(f"#c-{second}")
            assert "disagreed" in await disputed.inner_text()
            await disputed.locator("a:text('adjudicate')").click()
            assert "alice" in await as_bob.tab.locator("#others").inner_text()
            await as_bob.tab.check("input[name='goal_achieved'][value='No']")
            await as_bob.tab.click("#label-form button")
            await as_bob.tab.wait_for_url("**/annotate?compare=1#c-*")
            assert "adjudicated" in await as_bob.tab.locator(f"#c-{second}").inner_text()
            await browser.close()
    finally:
        for server in (alice, bob, reader):
            server.stop()
    stored = {(l.annotator, l.kind, l.goal_achieved) for l in await store.labels.for_conversations([third])}
    assert stored == {("alice", "person", "NotTried"), ("bob", "person", "NotTried")}  # the forged post wrote nothing
