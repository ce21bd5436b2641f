"""Settings: what the session is connected to, switching database, logging in again."""

from __future__ import annotations

import dataclasses

from rich.table import Table

from simulator.cli.render import shown

from simulator.actions.session import server_databases
from simulator.cli import login
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import BACK, Option
from simulator.config import describe_hosts, describe_url
from simulator.llm import providers
from simulator.logs import log_dir, setup_logging
from simulator.store import connect


def show(session: Session) -> None:
    s = session.settings
    table = Table(show_header=False, show_edge=False)
    rows = [("server", f"{describe_hosts(s.mongodb_uri)} ({session.store.server.flavour})"),
            ("database", s.db_name), ("you are", session.user)]
    for endpoint in providers.endpoints(s).values():
        key = "" if not endpoint.key_env else f", {endpoint.key_env} {'set' if endpoint.key else 'unset'}"
        rows.append((f"endpoint {endpoint.name}", f"{endpoint.api} at {describe_url(endpoint.url)}{key}"))
    rows += [(".env", str(session.dotenv_path)), ("logs", str(log_dir() / "simulator.log"))]
    for name, value in rows:
        table.add_row(name, shown(value))
    session.console.print(table)


async def switch(session: Session, settings) -> None:
    """Reconnect the session's one store to other settings; the old connection stays if that fails."""
    ok, store = await session.ui.attempt(connect(settings))
    if not ok:
        return
    await session.store.close()
    session.store, session.settings = store, settings
    setup_logging(settings.secrets())
    session.ui.say(f"now using database {settings.db_name} as {store.user}", style="green")


async def settings_menu(session: Session) -> None:
    ui = session.ui
    while True:
        show(session)
        choice = await ui.select("Settings", [Option("Change database", "database"),
                                              Option("Log in as someone else / to another server", "login"),
                                              Option("Back", BACK)])
        if choice is None:
            return
        if choice == "database":
            ok, found = await ui.attempt(server_databases(session.settings))
            if not ok:
                continue
            database = await login.choose_database(ui, found[1], session.settings.db_name)
            if database is not None and database != session.settings.db_name:
                await switch(session, dataclasses.replace(session.settings, db_name=database))
        elif choice == "login":
            settings = await login.ask_login(ui, session.env, session.dotenv_path)
            if settings is not None:
                await switch(session, settings)
