"""The real-model tier: the prison experiment on smollm2:135m (SmolLM2-135M-Instruct).

sim-tiny writes word salad, so it cannot tell whether leakage cleaning, `auto` speaker
selection and summaries work on what an instruction-tuned model really writes. These few
tests run the shipped prison experiment on the real model, served by the same private
Ollama as every other test. Each prints what it saw (cuts, parse rate) for the note.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.protocols.roles import role_spec
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.config import Settings
from simulator.core.experiment import LLMSetting
from simulator.llm.factory import CallMode, ModelSettings
from simulator.store import Status

PRISON = Path(__file__).resolve().parent.parent / "prompts" / "prison.yaml"
MODEL = "ollama/smollm2:135m"

pytestmark = pytest.mark.real_model


@pytest.fixture
async def prison(store, settings):
    stored = await import_file(store, settings.user, PRISON)
    assert stored.experiment.llms[0].model == MODEL  # the shipped experiment runs the real model first
    return stored


async def run(store, settings, prison, model_settings: ModelSettings | None = None, **request) -> tuple:
    cid = await conv.create(store, settings.user, prison, role_spec(**request))
    outcome = await conv.run(store, settings, cid, model_settings or ModelSettings())
    return cid, outcome, await store.messages.list(cid), await store.summaries.list(cid)


async def test_prison_2v1_on_the_real_model_is_clean(store, settings, prison):
    cid, outcome, messages, summaries = await run(
        store, settings, prison, llm=prison.experiment.llms[0], agent_counts={"guard": 2, "prisoner": 1},
        n_messages=6, days=2, seed=5)
    assert outcome.status is Status.COMPLETED, outcome.reason
    assert [m.index for m in messages] == list(range(6))
    names = [a.name for a in (await store.conversations.get(cid)).agents]
    for message in messages:
        assert message.content.strip(), f"message {message.index} is empty after cleaning"
        others = [n for n in names if n != message.speaker]
        marker = re.compile(rf"(?:^|\n)\W*(?:{'|'.join(others)})\W*:", re.IGNORECASE)
        assert not marker.search(message.content), f"message {message.index} holds another agent's turn"
        assert "\n\n" not in message.content  # the experiment allows one paragraph per turn
    assert [s["day"] for s in summaries] == [0, 1] and all(s["content"].strip() for s in summaries)
    cut = sum(m.content != m.raw_content.strip() for m in messages)
    print(f"\nsmollm2 2v1: {cut} of {len(messages)} replies cut by leakage cleaning")


async def test_auto_speaker_selection_parses_the_real_models_choice_or_falls_back(store, settings, prison):
    cid, outcome, messages, _ = await run(
        store, settings, prison, llm=prison.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 2},
        n_messages=6, speaker_selection="auto", seed=9)
    assert outcome.status is Status.COMPLETED, outcome.reason
    fell_back = sum(m.usage.get("note") == "auto selection fell back to round robin" for m in messages)
    parsed = sum("note" not in m.usage for m in messages)
    assert parsed + fell_back == len(messages) == 6
    assert all(a.speaker != b.speaker for a, b in zip(messages, messages[1:]))  # never the same twice in a row
    print(f"\nsmollm2 auto selection: {parsed} of {len(messages)} choices parsed, {fell_back} fell back "
          f"({parsed / len(messages):.0%})")


async def test_a_seeded_run_replays_itself_exactly_from_its_recorded_calls(store, settings, prison):
    """Live reruns at temperature 0 are not exact on llama.cpp (a prompt prefix served from the
    server's cache is computed in other batches, which changes the last bits); the recorded calls
    are what makes a published run reproducible."""
    request = dict(llm=LLMSetting(model=MODEL, temperature=0.0, max_tokens=60),
                   agent_counts={"guard": 1, "prisoner": 1}, n_messages=3, seed=21)
    cid, first, a, a_summaries = await run(store, settings, prison, **request)
    # its transcript lost, the conversation runs again from its recorded calls alone
    await store.messages.delete_for([cid])
    await store.summaries.delete_for([cid])
    await store.db["conversations"].update_one({"_id": cid}, {"$set": {"status": "pending"}})
    nowhere = Settings(**{**settings.__dict__, "ollama_host": "http://127.0.0.1:9"})
    second = await conv.run(store, nowhere, cid, ModelSettings(mode=CallMode.REPLAY))
    b, b_summaries = await store.messages.list(cid), await store.summaries.list(cid)
    assert first.status is second.status is Status.COMPLETED, second.reason
    assert [m.raw_content for m in a] == [m.raw_content for m in b]
    assert [m.content for m in a] == [m.content for m in b] and all(m.content for m in a)
    assert [s["content"] for s in a_summaries] == [s["content"] for s in b_summaries]


async def unload(settings) -> None:
    """Unload the model, so the server's prompt cache starts empty, as for the run before."""
    import ollama

    await ollama.AsyncClient(host=settings.ollama_host).generate(model=MODEL.split("/", 1)[1], keep_alive=0)


async def test_a_seeded_run_at_temperature_0_reproduces_itself_live_from_a_cold_start(store, settings, prison):
    """Live and exact, when both runs start from the same server state: the prompt cache is what
    differs between a warm rerun and the first run (see the replay test above)."""
    request = dict(llm=LLMSetting(model=MODEL, temperature=0.0, max_tokens=60),
                   agent_counts={"guard": 1, "prisoner": 1}, n_messages=3, seed=21)
    await unload(settings)
    _, first, a, a_summaries = await run(store, settings, prison, **request)
    await unload(settings)
    _, second, b, b_summaries = await run(store, settings, prison, **request)
    assert first.status is second.status is Status.COMPLETED
    assert [m.raw_content for m in a] == [m.raw_content for m in b] and all(m.content for m in a)
    assert [s["content"] for s in a_summaries] == [s["content"] for s in b_summaries]
