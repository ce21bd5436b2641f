"""Running the async core from the synchronous edges (commands, menus, benchmarks).

uvloop where it is installed: at 64 concurrent conversations the single event loop is the
bottleneck, and uvloop cut the 64x20 benchmark from 2.40x to 1.93x the ideal wall time.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop when available; Ctrl-C still cancels the coroutine cleanly.

    The model clients the coroutine opened are closed before the loop is (their sockets are
    the loop's)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_closing_clients(coroutine))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_closing_clients(coroutine))


async def _closing_clients(coroutine: Coroutine[Any, Any, T]) -> T:
    from simulator.llm.clients import close_clients

    try:
        return await coroutine
    finally:
        await close_clients()
