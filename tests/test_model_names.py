"""Model names of any shape through every protocol, the telephone import, batch grids, score tables and
the explorer.

A participant is often named after its model (`qwen2.5:0.5b`, `gpt-3.5-turbo-0125`), and a MongoDB
key may not contain '.' nor start with '$': runs on such models failed with `BulkWriteError` and the
telephone study's results tree with `WriteError` while prompts were stored keyed by participant. The
models here are sim-tiny under Ollama aliases, so every run takes seconds; names Ollama itself would
refuse ('$', non-ASCII) go through the store with a scripted model. Conversations stored before
(prompts and backrooms contexts as dicts) must still read and run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx
import pytest
import yaml

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.core.conversation import Prepared
from simulator.llm.factory import ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.store import schema
from simulator.web.analyses import Analyses
from simulator.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small_prison.yaml"
DOTTED = "qwen2.5:0.5b"  # family Qwen: a backrooms participant would be "Qwen"
UNKNOWN = "tiny.v2"  # no known family: a backrooms participant named after the model itself
MODEL, OTHER = f"ollama/{DOTTED}", f"ollama/{UNKNOWN}"
ODD_NAMES = ("$weird.v1", "Modèle.ü")  # a '$' starting a segment, and non-ASCII (with dots)
PUBLISHED = ("gpt-3.5-turbo-0125", "$mystery.v2", "Modèle-ü.1")


@pytest.fixture(scope="module")
def aliases(ollama_host) -> tuple[str, str]:
    """sim-tiny under names shaped like real Ollama models: Ollama's own copy, so no download."""
    for name in (DOTTED, UNKNOWN):
        body = json.dumps({"source": "sim-tiny", "destination": name}).encode()
        request = urllib.request.Request(f"{ollama_host}/api/copy", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200
    return MODEL, OTHER


def simulator(env: dict[str, str], *args: str) -> str:
    """The command's output; it must succeed (the bug showed as `unexpected error: ...WriteError`)."""
    done = subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def started_id(output: str) -> str:
    """The id a run or batch prints first: `conversation ID (...)` or `batch ID: ...`."""
    return output.split()[1].rstrip(":")


async def pages(store, settings, tmp_path: Path, *paths: str) -> list[str]:
    """Explorer pages, served in-process by the real app; each must render."""
    analyses = Analyses(tmp_path / "explorer")
    transport = httpx.ASGITransport(app=create_app(store, settings, analyses))
    texts = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for path in paths:
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
            texts.append(answer.text)
    analyses.close()
    return texts


async def completed(store, cid: str):
    conversation = await store.conversations.get(conv.conversation_id(cid))
    assert conversation.status.value == "completed", conversation.ending
    return conversation


@pytest.fixture
def dotted_prison(tmp_path) -> Path:
    """The small prison with the dotted model as its only LLM setting (short replies, as the file has)."""
    data = yaml.safe_load(SMALL.read_text())
    data["llms"] = [{**data["llms"][0], "model": MODEL}]
    path = tmp_path / "dotted_prison.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def test_a_role_experiment_run_batch_score_table_and_grid_on_a_dotted_model(aliases, dotted_prison, cli_env,
                                                                                  store, settings, tmp_path):
    run = await completed(store, started_id(simulator(
        cli_env, "run", str(dotted_prison), "--messages", "4", "--agents", "guard=1,prisoner=1", "--seed", "1",
        "--no-record")))
    assert run.spec.llms[0].model == MODEL and len(await store.messages.list(run.id)) == 4
    experiment = str(run.spec.experiment_id)
    batch = started_id(simulator(cli_env, "batch", experiment, "--max-agents", "guard=1,prisoner=1", "--messages",
                                 "3", "--repeat", "2", "--seed", "2", "--workers", "1", "--no-record"))
    assert "2 completed" in simulator(cli_env, "batch", "status", batch)
    simulator(cli_env, "score", experiment, "--batch", batch)
    table = simulator(cli_env, "analyze", "experiment", experiment, "--batch", batch, "-o", str(tmp_path / "out"))
    assert DOTTED in table
    grid, listed = await pages(store, settings, tmp_path, f"/batches/{batch}", f"/conversations?model={MODEL}")
    assert DOTTED in grid and str(run.id) in listed


async def test_chatroom_and_iterated_learning_on_a_dotted_model(aliases, cli_env, store):
    room = await completed(store, started_id(simulator(
        cli_env, "chatroom", "--models", MODEL, MODEL, "--max-iterations", "3", "--max-tokens", "8", "--seed", "1",
        "--system-prompts", "Be brief.")))
    assert room.prepared.prompts == {"lm1": "Be brief.", "lm2": "Be brief."}
    learning = await completed(store, started_id(simulator(
        cli_env, "iterated-learning", "--llm", MODEL, "--generations", "1", "--examples", "1", "--max-tokens", "12",
        "--seed", "1", "--no-record")))
    assert learning.spec.llms[0].model == MODEL and len(await store.messages.list(learning.id)) == 2


async def test_backrooms_participants_named_after_dotted_models(aliases, cli_env, store, settings, tmp_path):
    run = await completed(store, started_id(simulator(
        cli_env, "backrooms", "--lm", OTHER, MODEL, "--template", "cli", "--max-turns", "2", "--max-tokens", "8",
        "--seed", "1", "--no-record")))
    assert [a.name for a in run.agents] == [UNKNOWN, "Qwen"] and set(run.prepared.prompts) == {UNKNOWN, "Qwen"}
    assert {m.speaker for m in await store.messages.list(run.id)} == {UNKNOWN, "Qwen"}
    raw = await store.db[schema.CONVERSATIONS].find_one({"_id": run.id})
    assert [p["name"] for p in raw["extras"]["contexts"]] == [UNKNOWN, "Qwen"]  # a list, never a key
    assert f"{UNKNOWN}:" in simulator(cli_env, "show", str(run.id))
    log, = (tmp_path / "logs" / "backrooms").glob("tiny.v2_qwen2.5-0.5b_cli_*.txt")
    assert log.read_text().count(f"### {UNKNOWN} ###") == 2
    side, = await pages(store, settings, tmp_path, f"/conversations/{run.id}?view=side")
    assert UNKNOWN in side


async def test_a_telephone_chain_on_a_dotted_model_shows_exports_and_renders(aliases, cli_env, store, settings,
                                                                            tmp_path):
    texts = tmp_path / "texts.yaml"
    texts.write_text("- {id: cat, text: 'My cat sleeps in the sun all day.'}\n")
    chain = await completed(store, started_id(simulator(
        cli_env, "telephone", "--llm", MODEL, "--texts", str(texts), "--generations", "2", "--max-tokens", "8",
        "--seed", "1", "--no-record")))
    assert [a.name for a in chain.agents] == [DOTTED] and chain.prepared.prompts == {DOTTED: ""}
    exported = tmp_path / "chain.json"
    simulator(cli_env, "export", str(chain.id), "--format", "json", "-o", str(exported))
    record = json.loads(exported.read_text())
    assert [m["speaker"] for m in record["messages"]] == [DOTTED] * 2
    assert record["config"]["prompts"] == [{"name": DOTTED, "value": ""}]
    page, = await pages(store, settings, tmp_path, f"/conversations/{chain.id}?view=chain")
    assert DOTTED in page


def write_published(root: Path, models: tuple[str, ...]) -> None:
    """The study's layout, Results/<model>/rephrase/t1/seed_0/output0.json, one two-generation chain a model."""
    for model in models:
        folder = root / "Results" / model / "rephrase" / "t1" / "seed_0"
        folder.mkdir(parents=True)
        data = {"initial_story": "The cat sleeps.", "prompt_init": ["Rephrase this."], "prompt_update": ["Again."],
                "stories": [["A cat is asleep."], ["The cat naps."]]}
        (folder / "output0.json").write_text(json.dumps(data), encoding="utf-8")


async def test_published_chains_in_folders_of_any_name_import_and_analyse(cli_env, store, settings, tmp_path):
    write_published(tmp_path / "tree", PUBLISHED)
    assert "3 published chains found: 3 stored" in simulator(cli_env, "telephone", "import", str(tmp_path / "tree"))
    chains = await store.conversations.find(protocol="telephone")
    assert sorted(c.agents[0].name for c in chains) == sorted(PUBLISHED)
    assert all(c.prepared.prompts == {c.agents[0].name: ""} for c in chains)
    for chain in chains:
        assert [m.speaker for m in await store.messages.list(chain.id)] == [chain.agents[0].name] * 2
    model = f"published/{PUBLISHED[0]}"
    analysed = simulator(cli_env, "analyze", "telephone", "--model", model, "--instruction", "rephrase", "-o",
                         str(tmp_path / "out"))
    assert "telephone chain" in analysed and (tmp_path / "out" / "metrics.csv").is_file()
    by_name = {c.agents[0].name: c.id for c in chains}
    analysis, *transcripts = await pages(store, settings, tmp_path,
                                         f"/analysis/telephone?model={model}&instruction=rephrase",
                                         *(f"/conversations/{by_name[name]}" for name in PUBLISHED[1:]))
    assert PUBLISHED[0] in analysis and all(n in t for n, t in zip(PUBLISHED[1:], transcripts))


BACKROOMS = PROTOCOLS["backrooms"]


def backrooms_spec(models: list[str]):
    return BACKROOMS.plan({"lm": [models], "templates": ["cli"], "max_turns": 2}, Common(seed=3)).base


@pytest.fixture
def log_folder(tmp_path, monkeypatch) -> Path:
    """Backrooms runs write a plain log: in this test's folder, not the working directory's."""
    monkeypatch.setenv("SIM_LOG_DIR", str(tmp_path / "logs"))
    return tmp_path / "logs"


def echo(messages, options, n) -> str:
    return f"Reply {n}."


async def test_participants_named_with_a_dollar_or_non_ascii_are_stored_and_run(store, settings, log_folder):
    spec = backrooms_spec([f"ollama/{name}" for name in ODD_NAMES])
    cid = await conv.create(store, settings.user, None, spec)
    model = ScriptedModel(echo)
    outcome = await conv.run(store, settings, cid, ModelSettings(), model=model)
    assert outcome.messages == 4
    conversation = await store.conversations.get(cid)
    assert [a.name for a in conversation.agents] == list(ODD_NAMES)
    assert set(conversation.prepared.prompts) == set(ODD_NAMES)
    assert [m.speaker for m in await store.messages.list(cid)] == list(ODD_NAMES) * 2
    assert model.calls[0][0][0]["content"] == conversation.prepared.prompts[ODD_NAMES[0]]


async def test_a_conversation_stored_with_dict_prompts_and_contexts_still_reads_and_runs(store, settings,
                                                                                         log_folder):
    """Documents written before names left the keys: maps keyed by (then key-safe) participant names."""
    cid = await conv.create(store, settings.user, None, backrooms_spec(["ollama/sim-tiny", "ollama/sim-tiny"]))
    new = await store.conversations.get(cid)
    prompts = {name: f"Old prompt of {name}." for name in new.prepared.prompts}
    contexts = {name: [{"role": "user", "content": f"Old context of {name}."}] for name in prompts}
    await store.db[schema.CONVERSATIONS].update_one({"_id": cid}, {"$set": {
        "prompts": prompts, "extras.contexts": contexts, "extras.companies": dict.fromkeys(prompts, "Old Co")}})
    old = await store.conversations.get(cid)
    assert old.prepared.prompts == prompts
    model = ScriptedModel(echo)
    await conv.run(store, settings, cid, ModelSettings(), model=model)
    first = model.calls[0][0]
    name = old.agents[0].name
    assert first[0]["content"] == f"Old prompt of {name}." and first[1]["content"] == f"Old context of {name}."


def test_prepared_reads_both_stored_shapes_of_its_prompts():
    prepared = Prepared.from_document({"agents": [{"name": "a.b", "role": "generation"}],
                                       "prompts": [{"name": "a.b", "value": "Hi."}]})
    assert prepared.prompts == {"a.b": "Hi."} and prepared.to_document()["prompts"] == [{"name": "a.b",
                                                                                        "value": "Hi."}]
    legacy = Prepared.from_document({"agents": [{"name": "Guard_101", "role": "guard"}],
                                     "prompts": {"Guard_101": "You guard."}})
    assert legacy.prompts == {"Guard_101": "You guard."}
