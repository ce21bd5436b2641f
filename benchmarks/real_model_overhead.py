"""P3: what the simulator adds to a real model's time (prison 1v1, 12 messages, smollm2:135m).

    python benchmarks/real_model_overhead.py

Runs one seeded conversation through the simulator (engine, wrappers, FerretDB, recording),
then sends exactly the requests it recorded straight to Ollama with the `ollama` client,
one after the other, and prints both wall times and their ratio (target <= 1.05). Before
each timing the model is unloaded and loaded again, so both start with the same empty
prompt cache.
"""

from __future__ import annotations

import asyncio
import time

import ollama

from _support import ROOT, bench_ollama, bench_store
from simulator.actions import conversations
from simulator.actions.experiments import import_file
from simulator.config import Settings
from simulator.core.experiment import LLMSetting
from simulator.llm.factory import ModelSettings

MODEL = "smollm2:135m"
MESSAGES = 12


async def fresh_model(client: ollama.AsyncClient) -> None:
    """Unload, then load again: an empty prompt cache and the weights in memory."""
    await client.generate(model=MODEL, prompt="", keep_alive=0)
    await client.generate(model=MODEL, prompt="")


async def main() -> None:
    with bench_ollama() as host:
        client = ollama.AsyncClient(host=host)
        async with bench_store() as (store, settings, _):
            settings = Settings(**{**vars(settings), "ollama_host": host})
            prison = await import_file(store, settings.user, ROOT / "prompts" / "prison.yaml")
            request = conversations.ConversationRequest(
                llm=LLMSetting(model=f"ollama/{MODEL}", temperature=0.7, max_tokens=80),
                agent_counts={"guard": 1, "prisoner": 1}, n_messages=MESSAGES, seed=3)
            cid = await conversations.create(store, settings.user, prison, request)

            await fresh_model(client)
            started = time.perf_counter()
            outcome = await conversations.run(store, settings, cid, ModelSettings())
            simulator_s = time.perf_counter() - started

            calls = await store.model_calls.for_scope(str(cid))
            await fresh_model(client)
            started = time.perf_counter()
            for call in calls:
                options = dict(call["options"])
                if "max_tokens" in options:
                    options["num_predict"] = options.pop("max_tokens")
                await client.chat(model=MODEL, messages=call["messages"], options=options)
            raw_s = time.perf_counter() - started

    print(f"P3 prison 1v1 on {MODEL}: {outcome.messages} messages + summary = {len(calls)} model calls")
    print(f"  through the simulator: {simulator_s:.2f} s")
    print(f"  the same requests sent raw with the ollama client: {raw_s:.2f} s")
    print(f"  ratio: {simulator_s / raw_s:.3f} (target <= 1.05)")


if __name__ == "__main__":
    asyncio.run(main())
