"""Running the async core from the synchronous edges (commands, menus, benchmarks).

uvloop where it is installed: at 64 concurrent conversations the single event loop is the
bottleneck, and uvloop cut the 64x20 benchmark from 2.40x to 1.93x the ideal wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the coroutine was cancelled as Ctrl-C cancels it (its runs marked stopped)."""


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop when available; Ctrl-C and SIGTERM still cancel the coroutine cleanly.

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

    terminated = _cancel_on_sigterm()
    try:
        return await coroutine
    except (asyncio.CancelledError, KeyboardInterrupt):
        if terminated:  # SIGTERM, not Ctrl-C: say so (exit 143), after the same clean stop
            raise Terminated from None
        raise
    finally:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        await close_clients()


def _cancel_on_sigterm() -> list[bool]:
    """SIGTERM cancels the running task as Ctrl-C does (a run it interrupts is marked stopped, not left
    `running`); the list returned holds True once it came. Only the main thread can take signals."""
    task, received = asyncio.current_task(), []

    def terminate() -> None:
        received.append(True)
        if task is not None:
            task.cancel()

    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
    return received
