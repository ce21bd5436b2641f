"""Telephone chains: the chain view, import of published chains, analysis, and a real run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripted import ScriptedModel
from simulator.actions import conversations as conv
from simulator.actions.telephone import import_chains
from simulator.actions.telephone_analysis import analyse, load_chains
from simulator.analysis import telephone_figures
from simulator.errors import ValidationError
from simulator.llm.factory import ModelSettings
from simulator.protocols import PROTOCOLS
from simulator.protocols.base import Common
from simulator.protocols.telephone import ChainCleaner, read_texts

TELEPHONE = PROTOCOLS["telephone"]
PNG = b"\x89PNG\r\n\x1a\n"


def test_ten_shipped_texts_and_three_instructions():
    texts = read_texts(None)
    assert len(texts) == 10 and len({t["id"] for t in texts}) == 10
    lengths = sorted(len(t["text"]) for t in texts)
    assert lengths[0] < 80 and lengths[-1] > 200  # short to long
    assert set(TELEPHONE.option("instruction").choices) == {"rephrase", "inspiration", "continue"}


def test_a_plan_is_texts_by_seeds_by_temperatures():
    plan = TELEPHONE.plan({"llm": "ollama/sim-tiny", "seeds": 3, "temperatures": [0.2, 1.0], "generations": 4},
                          Common(seed=1))
    cells = plan.cells(1)
    assert len(cells) == 10 * 2 * 3 and [a.name for a in plan.axes] == ["text_id", "temperature", "repeat"]
    assert {c.spec.llms[0].temperature for c in cells} == {0.2, 1.0} and {c.spec.n_messages for c in cells} == {4}
    assert len({c.spec.seed for c in cells}) == 60


def test_the_cleaner_drops_a_preamble_and_an_unfinished_last_sentence():
    clean = ChainCleaner().clean
    assert clean("Sure! Here is the rephrased text:\n\nThe cat sleeps.", None, [], False).text == "The cat sleeps."
    assert clean("The cat sleeps. It runs at", None, [], True).text == "The cat sleeps."
    assert clean("Note: the cat sleeps.", None, [], False).text == "Note: the cat sleeps."  # no line break: kept


@pytest.mark.both_stores
async def test_each_generation_sees_the_instruction_and_only_the_previous_output(store, settings):
    plan = TELEPHONE.plan({"llm": "ollama/sim-tiny", "texts": None, "generations": 3}, Common(seed=2))
    spec = plan.cells(2)[0].spec
    cid = await conv.create(store, settings.user, None, spec)
    model = ScriptedModel(lambda messages, options, n: f"Version {n + 1}.")
    await conv.run(store, settings, cid, ModelSettings(), model=model)
    views = [call[0] for call in model.calls]
    assert [len(v) for v in views] == [1, 1, 1] and all(v[0]["role"] == "user" for v in views)
    assert views[0][0]["content"].endswith(spec.option("text")) and "Rephrase" in views[0][0]["content"]
    assert views[1][0]["content"].endswith("\n\nVersion 1.") and spec.option("text") not in views[2][0]["content"]
    assert [m.content for m in await store.messages.list(cid)] == ["Version 1.", "Version 2.", "Version 3."]


def write_published(root: Path, lengths: dict[str, tuple[int, list[int]]]) -> None:
    """Results/<model>/<instruction>/<text_id>/seed_0/output0.json with texts of given lengths."""
    for text_id, (initial, generations) in lengths.items():
        folder = root / "Results" / "GPT-4o" / "rephrase" / text_id / "seed_0"
        folder.mkdir(parents=True)
        data = {"initial_story": "x" * initial, "prompt_init": ["Rephrase this."], "prompt_update": ["Again."],
                "stories": [["y" * n] for n in generations], "adjacency_matrix": [[0]],
                "personality_list": [""], "format_prompt": ""}
        (folder / "output0.json").write_text(json.dumps(data))


@pytest.mark.both_stores
async def test_import_of_published_chains_is_idempotent_and_gives_the_hand_computed_attractor(store, settings,
                                                                                              tmp_path):
    # initial lengths 10, 20, 30 end at 20, 25, 30: final = 15 + 0.5 x initial, so the attractor of
    # length is at 15 / (1 - 0.5) = 30 characters, with strength 1 - 0.5 = 0.5
    write_published(tmp_path, {"t1": (10, [14, 20]), "t2": (20, [22, 25]), "t3": (30, [31, 30])})
    first = await import_chains(store, settings.user, tmp_path)
    assert (first.found, first.stored, first.already, first.messages) == (3, 3, 0, 6)
    again = await import_chains(store, settings.user, tmp_path / "Results")
    assert (again.found, again.stored, again.already, again.messages) == (3, 0, 3, 0)
    chains = await load_chains(store, model="published/GPT-4o", instruction="rephrase")
    assert [(c.text_id, c.seed, [len(t) for t in c.texts]) for c in chains] == [
        ("t1", 0, [10, 14, 20]), ("t2", 0, [20, 22, 25]), ("t3", 0, [30, 31, 30])]
    result = analyse(chains, tmp_path / "out", intermediate=1)
    final = next(r for r in result.rows if r.metric == "length" and r.generation == "final")
    assert final.result.slope == pytest.approx(0.5) and final.result.intercept == pytest.approx(15)
    assert final.result.position == pytest.approx(30) and final.result.strength == pytest.approx(0.5)
    at_one = next(r for r in result.rows if r.metric == "length" and r.generation == 1)
    # generation 1: 14, 22, 31 on 10, 20, 30: slope 170 / 200 = 0.85, intercept 67/3 - 0.85 x 20 = 16/3
    assert at_one.result.slope == pytest.approx(0.85) and at_one.result.intercept == pytest.approx(16 / 3)


@pytest.mark.both_stores
async def test_a_malformed_published_file_stores_nothing(store, settings, tmp_path):
    write_published(tmp_path, {"t1": (10, [12])})
    bad = tmp_path / "Results" / "GPT-4o" / "rephrase" / "t2" / "seed_1"
    bad.mkdir(parents=True)
    (bad / "output0.json").write_text(json.dumps({"initial_story": "x", "stories": "not a list"}))
    with pytest.raises(ValidationError, match="t2/seed_1/output0.json: needs initial_story"):
        await import_chains(store, settings.user, tmp_path)
    assert await store.conversations.find(protocol="telephone") == []


@pytest.mark.real_model
async def test_a_real_run_then_analyze_writes_csv_and_labelled_png_figures(cli_env, store, tmp_path, monkeypatch):
    texts = tmp_path / "texts.yaml"
    texts.write_text("- {id: cat, text: 'My cat sleeps in the sun all day. At night she runs through the house.'}\n"
                     "- {id: bus, text: 'The bus was late again, so I walked to work in the rain.'}\n")
    run = subprocess.run([sys.executable, "-m", "simulator", "telephone", "--llm", "ollama/smollm2:135m", "--texts",
                          str(texts), "--seeds", "2", "--generations", "5", "--max-tokens", "60", "--seed", "3"],
                         env=cli_env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    batch = run.stdout.split()[1].rstrip(":")
    out = tmp_path / "analysis"
    labelled = []
    real_save = telephone_figures._save

    def checked_save(figure, path):
        labelled.append(all(a.get_xlabel() and a.get_ylabel() for a in figure.axes))
        return real_save(figure, path)

    monkeypatch.setattr(telephone_figures, "_save", checked_save)
    chains = await load_chains(store, batch_id=conv.conversation_id(batch))
    assert len(chains) == 4 and all(len(c.texts) == 6 for c in chains)
    result = analyse(chains, out)
    pngs = [f for f in result.files if f.suffix == ".png"]
    assert len(pngs) >= 6 and all(f.read_bytes().startswith(PNG) for f in pngs) and all(labelled)
    assert {f.name for f in result.files if f.suffix == ".csv"} == {"metrics.csv", "attractors.csv",
                                                                   "cumulativeness.csv"}
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * 6 * 6  # chains x generations 0..5 x metrics (4 + 2 similarities)
    command = subprocess.run([sys.executable, "-m", "simulator", "analyze", "telephone", batch, "-o",
                              str(tmp_path / "cli")], env=cli_env, capture_output=True, text=True, timeout=300)
    assert command.returncode == 0, command.stderr
    assert "Attractors of 4 telephone chains" in command.stdout and (tmp_path / "cli" / "attractors.csv").is_file()


OFFLINE_GUARD = '''
import socket
_connect = socket.socket.connect
def _guard(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
        with open({log!r}, "a") as log:
            log.write(repr(address) + "\\n")
        raise OSError("network unplugged for this test")
    return _connect(self, address)
socket.socket.connect = _guard
'''


async def test_analyze_runs_with_the_network_unplugged(cli_env, store, settings, tmp_path):
    """Only loopback (the database) is reachable; any other connection is refused and recorded."""
    write_published(tmp_path / "tree", {"t1": (10, [14, 20]), "t2": (20, [22, 25]), "t3": (30, [31, 30])})
    await import_chains(store, settings.user, tmp_path / "tree")
    guard = tmp_path / "guard"
    guard.mkdir()
    attempts = tmp_path / "attempts.log"
    (guard / "sitecustomize.py").write_text(OFFLINE_GUARD.format(log=str(attempts)))
    env = {k: v for k, v in cli_env.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = f"{guard}:{env.get('PYTHONPATH', '')}"
    result = subprocess.run([sys.executable, "-m", "simulator", "analyze", "telephone", "--model", "published/GPT-4o",
                             "--instruction", "rephrase", "-o", str(tmp_path / "out")], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not attempts.exists(), attempts.read_text()
    assert (tmp_path / "out" / "attractors.csv").is_file()


async def test_one_chain_is_analysed_by_its_conversation_id(cli_env, store, settings, tmp_path):
    write_published(tmp_path / "tree", {"t1": (10, [14, 20])})
    await import_chains(store, settings.user, tmp_path / "tree")
    (chain,) = await store.conversations.find(protocol="telephone")
    result = subprocess.run([sys.executable, "-m", "simulator", "analyze", "telephone", str(chain.id), "-o",
                             str(tmp_path / "one")], env=cli_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"analysed conversation {chain.id}: 1 run" in result.stdout
    assert (tmp_path / "one" / "metrics.csv").is_file() or (tmp_path / "one" / "attractors.csv").is_file()
