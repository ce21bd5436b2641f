"""Starting the menus: log in, open the one database connection, run the start menu.

The whole session runs in one event loop (simulator.aio.run) with one Store; `simulator` with no
arguments calls `run()`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping

from rich.console import Console

from simulator import aio
from simulator.cli.login import login
from simulator.config import read_env
from simulator.cli.menus.session import Session
from simulator.cli.menus.start import start_menu
from simulator.cli.menus.ui import Ui
from simulator.logs import setup_logging
from simulator.store import connect

async def session_main(ui: Ui, env: Mapping[str, str], dotenv_path: Path) -> int:
    """Log in, open the one store, run the start menu until Exit."""
    settings = await login(ui, env, dotenv_path)
    if settings is None:
        return 0
    setup_logging(settings.secrets())
    ok, store = await ui.attempt(connect(settings))
    if not ok:
        return 1
    session = Session(ui=ui, settings=settings, store=store, env=dict(env), dotenv_path=dotenv_path)
    try:
        await start_menu(session)
    finally:
        await session.store.close()
    return 0


def run() -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("the menus need a terminal; `simulator --help` lists the commands for scripts", file=sys.stderr)
        return 2
    console = Console()
    path = Path.cwd() / ".env"
    setup_logging([])
    ui = Ui(console)
    try:
        return aio.run(session_main(ui, read_env(path), path))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line on screen, the traceback in the log
        ui.error(exc)
        return 1
