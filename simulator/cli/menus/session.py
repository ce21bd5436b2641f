"""What every menu level shares: who is logged in, the one database connection, the prompts."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from rich.console import Console

from simulator.config import Settings
from simulator.llm.factory import ModelSettings
from simulator.store import Store
from simulator.cli.menus.ui import Ui

T = TypeVar("T")


@dataclass
class Session:
    ui: Ui
    settings: Settings
    store: Store
    env: dict[str, str] = field(default_factory=dict)
    dotenv_path: Path = Path(".env")
    draft: dict[str, Any] | None = None  # an experiment left half-designed, offered again
    model_settings: Callable[[], ModelSettings] = ModelSettings

    @property
    def user(self) -> str:
        return self.store.user

    @property
    def console(self) -> Console:
        return self.ui.console


async def interruptible(work: Awaitable[T]) -> tuple[bool, T | None]:
    """Run `work` so that Ctrl-C stops it (the run is stored as stopped) and the menu goes on.

    While a prompt is open the terminal is in raw mode and Ctrl-C is a key; during a run
    it is SIGINT, which here cancels only the run instead of the whole session.
    """
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(task.cancel))
    except ValueError:  # not the main thread (some test runners): no handler, nothing else changes
        previous = None
    try:
        return True, await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if task.cancelled() and not (current is not None and current.cancelling()):
            return False, None
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
