"""P3: what the simulator adds to a real model's time (prison 1v1, 12 messages, smollm2:135m).

    python benchmarks/real_model_overhead.py

Runs one seeded conversation through the simulator (engine, wrappers, FerretDB, recording),
then sends exactly the requests it recorded straight to Ollama with the `ollama` client,
one after the other, and prints both wall times and their ratio (target <= 1.05). Before
each timing the model is unloaded and loaded again, so both start with the same empty
prompt cache; the pair is repeated three times, alternating, and medians are compared,
since one run's wall time on a shared 2-core machine wanders by about 10%.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import ollama

from _support import ROOT, bench_ollama, bench_store
from simulator.protocols.roles import role_spec  # noqa: E402
from simulator.actions import conversations
from simulator.actions.experiments import import_file
from simulator.config import Settings
from simulator.core.experiment import LLMSetting
from simulator.llm.factory import ModelSettings

MODEL = "smollm2:135m"
MESSAGES = 12
ROUNDS = 3


async def fresh_model(client: ollama.AsyncClient) -> None:
    """Unload, then load again: an empty prompt cache and the weights in memory."""
    await client.generate(model=MODEL, prompt="", keep_alive=0)
    await client.generate(model=MODEL, prompt="")


async def raw_replay(client: ollama.AsyncClient, calls: list[dict]) -> tuple[float, int]:
    """Send the recorded requests one after the other; (seconds, tokens generated)."""
    await fresh_model(client)
    generated = 0
    started = time.perf_counter()
    for call in calls:
        options = dict(call["options"])
        if "max_tokens" in options:
            options["num_predict"] = options.pop("max_tokens")
        generated += (await client.chat(model=MODEL, messages=call["messages"], options=options)).eval_count or 0
    return time.perf_counter() - started, generated


async def through_simulator(client, store, settings, prison) -> tuple[float, int, list[dict]]:
    """One seeded conversation; (seconds, tokens generated, the calls it recorded)."""
    request = role_spec(
                        llm=LLMSetting(model=f"ollama/{MODEL}", temperature=0.7, top_p=0.9, max_tokens=100),
                        agent_counts={"guard": 1, "prisoner": 1}, n_messages=MESSAGES, seed=3)
    cid = await conversations.create(store, settings.user, prison, request)
    await fresh_model(client)
    options = ModelSettings()
    started = time.perf_counter()
    await conversations.run(store, settings, cid, options)
    seconds = time.perf_counter() - started
    return seconds, options.meter.completion_tokens, await store.model_calls.for_scope(str(cid))


async def main() -> None:
    simulator_s, raw_s = [], []
    with bench_ollama() as host:
        client = ollama.AsyncClient(host=host)
        async with bench_store() as (store, settings, _):
            settings = Settings(**{**vars(settings), "ollama_host": host})
            prison = await import_file(store, settings.user, ROOT / "prompts" / "prison.yaml")
            for _ in range(ROUNDS):  # alternated, so drift in the machine's speed hits both alike
                seconds, sim_tokens, calls = await through_simulator(client, store, settings, prison)
                simulator_s.append(seconds)
                seconds, raw_tokens = await raw_replay(client, calls)
                raw_s.append(seconds)
    print(f"P3 prison 1v1 on {MODEL}: {MESSAGES} messages + summary = {len(calls)} model calls, "
          f"{ROUNDS} rounds alternated; tokens generated {sim_tokens} (simulator) vs {raw_tokens} (raw)")
    print(f"  through the simulator: {' '.join(f'{s:.2f}' for s in simulator_s)} s, "
          f"median {statistics.median(simulator_s):.2f} s")
    print(f"  the same requests sent raw with the ollama client: {' '.join(f'{s:.2f}' for s in raw_s)} s, "
          f"median {statistics.median(raw_s):.2f} s")
    print(f"  ratio of medians: {statistics.median(simulator_s) / statistics.median(raw_s):.3f} (target <= 1.05)")


if __name__ == "__main__":
    asyncio.run(main())
