"""The start menu: create, select, run a protocol, browse, settings, exit."""

from __future__ import annotations

from simulator.cli.menus import design
from simulator.cli.menus.conversations import browse_conversations
from simulator.cli.menus.experiments import experiment_menu, select_experiment
from simulator.cli.menus.protocols import menu_protocols, protocols_menu
from simulator.cli.menus.session import Session
from simulator.cli.menus.settings import settings_menu
from simulator.cli.menus.ui import Option


async def start_menu(session: Session) -> None:
    """Until Exit (or Esc here, one level above which there is nothing)."""
    while True:
        choice = await session.ui.select(
            f"LLM Interaction Simulator — {session.user} on {session.settings.db_name}",
            [Option("Create experiment", "create"), Option("Select experiment", "select"),
             Option(f"Run a protocol ({', '.join(p.title.lower() for p in menu_protocols())})", "protocol"),
             Option("Browse all conversations", "browse"), Option("Settings", "settings"), Option("Exit", "exit")])
        if choice in (None, "exit"):
            return
        if choice == "create":
            stored = await design.create_experiment(session)
            if stored is not None:
                await experiment_menu(session, stored.id)
        elif choice == "select":
            await select_experiment(session)
        elif choice == "protocol":
            await protocols_menu(session)
        elif choice == "browse":
            await browse_conversations(session, title="All conversations")
        elif choice == "settings":
            await settings_menu(session)
