"""CPU per Anthropic Messages call: the project's aiohttp path against the official SDK.

    python benchmarks/anthropic_client_cpu.py [CALLS] [CONCURRENCY]

Both clients call the same local endpoint (benchmarks/slow_endpoint.py, 50 ms per answer) in
alternating rounds; the figure is this process's CPU time divided by the calls, which is what
bounds a batch's event loop. The SDK is measured only when `anthropic` is installed
(`pip install anthropic`); it is not a dependency of the project.
"""

from __future__ import annotations

import asyncio
import sys
import time

from _support import SlowEndpoint

from simulator.llm.anthropic_provider import AnthropicChatModel
from simulator.llm.clients import close_clients
from simulator.llm.types import ChatOptions

MESSAGES = [{"role": "system", "content": "You are a terminal."}, {"role": "user", "content": "ls -la"}]


async def ours(base: str, calls: int, concurrency: int) -> float:
    model = AnthropicChatModel("claude-3-opus-20240229", api_key="k", base_url=base)
    return await _measure(lambda: model.chat(MESSAGES, ChatOptions(max_tokens=64)), calls, concurrency)


async def sdk(base: str, calls: int, concurrency: int) -> float:
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="k", base_url=base, max_retries=0)
    try:
        return await _measure(lambda: client.messages.create(
            model="claude-3-opus-20240229", max_tokens=64, system=MESSAGES[0]["content"],
            messages=[MESSAGES[1]]), calls, concurrency)
    finally:
        await client.close()


async def _measure(call, calls: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            await call()

    await asyncio.gather(*(one() for _ in range(concurrency)))  # warm: connections open
    started = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.process_time() - started) * 1000 / calls


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 640
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    try:
        import anthropic  # noqa: F401
        clients = {"aiohttp (ours)": ours, "anthropic SDK": sdk}
    except ImportError:
        print("anthropic is not installed: measuring only the project's path (pip install anthropic to compare)")
        clients = {"aiohttp (ours)": ours}
    endpoint = SlowEndpoint(0.05)
    base = endpoint.url.removesuffix("/v1")
    figures: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for _round in range(3):
            for name, measure in clients.items():
                figures[name].append(asyncio.run(_run(measure, base, calls, concurrency)))
    finally:
        endpoint.close()
    print(f"CPU per call, {calls} calls at {concurrency} at once, 3 alternated rounds:")
    for name, values in figures.items():
        print(f"  {name:16} {' '.join(f'{v:.2f}' for v in values)} ms  (median {sorted(values)[1]:.2f})")
    if len(figures) == 2:
        medians = [sorted(v)[1] for v in figures.values()]
        print(f"  SDK / ours: {medians[1] / medians[0]:.1f}x")
    return 0


async def _run(measure, base: str, calls: int, concurrency: int) -> float:
    try:
        return await measure(base, calls, concurrency)
    finally:
        await close_clients()


if __name__ == "__main__":
    sys.exit(main())
