"""Logging in for the menus: credentials from the environment or `.env`, or asked for.

With MONGODB_URI or DB_CLUSTER_URL configured, the menus log in by themselves (auto-login).
Otherwise, or when those are refused, the researcher types the server, user and password
(hidden); on success the menus offer to remember them in `.env` (merged, mode 0600), so
the next start logs in by itself. The database is picked from the server's own list
(admin, local and config hidden) or typed in. Passwords are never shown or logged.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Mapping
from urllib.parse import quote_plus


from simulator import envfile
from simulator.actions.session import server_databases
from simulator.cli.menus.ui import Option, Ui
from simulator.config import DEFAULT_MONGODB_URI, Settings, build_mongodb_uri, describe_hosts, identity, load_settings
from simulator.errors import SimulatorError, ValidationError
from simulator.logs import setup_logging

TYPE_NAME = "__type__"
_DATABASE_NAME = re.compile(r'[^/\\. "$*<>:|?]{1,63}')


def configured(env: Mapping[str, str]) -> bool:
    return bool(env.get("MONGODB_URI", "").strip() or env.get("DB_CLUSTER_URL", "").strip())


def server_of(env: Mapping[str, str]) -> str:
    """The server to offer when asking: the configured one without its credentials."""
    uri = env.get("MONGODB_URI", "").strip() or env.get("DB_CLUSTER_URL", "").strip() or DEFAULT_MONGODB_URI
    if "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    hosts, slash, tail = rest.partition("/")
    return f"{scheme}://{hosts.rsplit('@', 1)[-1]}{slash}{tail}"


def uri_for(server: str, user: str, password: str) -> str:
    """A MongoDB URI for a typed server (URL or Atlas cluster host) and credentials."""
    server = server.strip()
    if not server.startswith(("mongodb://", "mongodb+srv://")):
        return build_mongodb_uri({"DB_CLUSTER_URL": server, "DB_USER": user, "DB_PASSWORD": password})
    if not user:
        return server
    scheme, rest = server.split("://", 1)
    hosts, slash, tail = rest.partition("/")
    hosts = hosts.rsplit("@", 1)[-1]
    return f"{scheme}://{quote_plus(user)}:{quote_plus(password)}@{hosts}{slash}{tail}"


def check_server(text: str) -> str:
    server = text.strip()
    if not server or any(c.isspace() for c in server):
        raise ValidationError("give a mongodb:// URL or a cluster host name")
    return server


def check_database_name(text: str) -> str:
    name = text.strip()
    if not _DATABASE_NAME.fullmatch(name):
        raise ValidationError("database names are 1 to 63 characters without spaces or / \\ . \" $ * < > : | ?")
    return name


def remembered_keys(settings: Settings, user: str) -> dict[str, str]:
    """What auto-login needs next time: the URI (with its credentials), the user, the database."""
    keys = {"MONGODB_URI": settings.mongodb_uri, "DB_NAME": settings.db_name}
    if user:
        keys["DB_USER"] = user
    return keys


async def choose_database(ui: Ui, names: list[str], current: str) -> str | None:
    options = [Option(n, n) for n in names]
    if current not in names:
        options.insert(0, Option(f"{current} (new: created on the first write)", current))
    options.append(Option("Type another name…", TYPE_NAME))
    choice = await ui.select("Database", options, default=current)
    if choice == TYPE_NAME:
        return await ui.value("Database name", check_database_name, default=current)
    return choice


def local_uri(env: Mapping[str, str]) -> str:
    """Where `make services` runs the local database (SIM_MONGO_PORT, default 27017)."""
    port = env.get("SIM_MONGO_PORT", "").strip()
    return f"mongodb://127.0.0.1:{port}" if port.isascii() and port.isdigit() and len(port) <= 5 else DEFAULT_MONGODB_URI


async def local_login(ui: Ui, env: Mapping[str, str]) -> Settings | None:
    """With nothing configured, the local server `make services` started, if it answers."""
    try:
        settings = load_settings({**env, "MONGODB_URI": local_uri(env), "DB_TIMEOUT_MS": "1500"})
        info, _ = await server_databases(settings)
        settings = dataclasses.replace(settings, user=identity(settings, info.authenticated_user))
    except SimulatorError:
        return None
    settings = dataclasses.replace(settings, db_timeout_ms=load_settings(env).db_timeout_ms)
    ui.say(f"nothing configured: using the local database at {describe_hosts(settings.mongodb_uri)} "
           f"({info.flavour}), database {settings.db_name}, as {settings.user}", style="dim")
    return settings


async def login(ui: Ui, env: Mapping[str, str], dotenv_path: Path) -> Settings | None:
    """Settings of a working login, or None when the researcher leaves (Esc)."""
    if not configured(env):
        settings = await local_login(ui, env)
        if settings is not None:
            return settings
    if configured(env):
        try:
            settings = load_settings(env)
            setup_logging(settings.secrets())  # before the first try, so no log line can carry the password
            info, names = await server_databases(settings)
            settings = dataclasses.replace(settings, user=identity(settings, info.authenticated_user))
        except SimulatorError as exc:
            ui.error(exc)
            ui.say("log in by hand instead:", style="dim")
        else:
            if not env.get("DB_NAME", "").strip():
                database = await choose_database(ui, names, settings.db_name)
                if database is None:
                    return None
                settings = dataclasses.replace(settings, db_name=database)
            ui.say(f"logged in to {describe_hosts(settings.mongodb_uri)} ({info.flavour}) as {settings.user}, "
                   f"database {settings.db_name}", style="dim")
            return settings
    return await ask_login(ui, env, dotenv_path)


async def ask_login(ui: Ui, env: Mapping[str, str], dotenv_path: Path) -> Settings | None:
    server, user = server_of(env), env.get("DB_USER", "")
    while True:
        server = await ui.value("MongoDB server (mongodb:// URL, or an Atlas cluster host)", check_server,
                                default=server)
        if server is None:
            return None
        user = await ui.text("User (blank for none)", default=user)
        if user is None:
            return None
        user = user.strip()
        password = await ui.password(f"Password for {user}") if user else ""
        if password is None:
            return None
        try:
            settings = load_settings({**env, "MONGODB_URI": uri_for(server, user, password),
                                      **({"DB_USER": user} if user else {})})
            setup_logging(settings.secrets())
            info, names = await server_databases(settings)
            settings = dataclasses.replace(settings, user=identity(settings, info.authenticated_user))
        except SimulatorError as exc:
            ui.error(exc)
            continue
        database = await choose_database(ui, names, settings.db_name)
        if database is None:
            continue
        settings = dataclasses.replace(settings, db_name=database)
        ui.say(f"logged in to {describe_hosts(settings.mongodb_uri)} ({info.flavour}) as {settings.user}, "
               f"database {database}", style="dim")
        await offer_to_remember(ui, dotenv_path, settings, user)
        return settings


async def offer_to_remember(ui: Ui, dotenv_path: Path, settings: Settings, user: str) -> None:
    remember = await ui.confirm(f"Remember this login in {dotenv_path} (auto-login next time)?", default=False)
    if not remember:
        return
    try:
        envfile.update_file(dotenv_path, remembered_keys(settings, user))
    except (OSError, ValueError) as exc:
        ui.error(ValidationError(f"could not save the login in {dotenv_path}: {getattr(exc, 'strerror', None) or exc}"))
        return
    ui.say(f"saved in {dotenv_path} (readable by you only)", style="dim")
    if os.environ.get("MONGODB_URI", "").strip():
        ui.say("note: MONGODB_URI in the environment overrides .env", style="yellow")
