"""Logging in: check credentials against the server and list the databases to choose from."""

from __future__ import annotations

from pymongo.errors import PyMongoError

from simulator.config import Settings
from simulator.store.connection import ServerInfo, open_client, ping, store_error

SYSTEM_DATABASES = frozenset({"admin", "local", "config"})


def visible_databases(names: list[str]) -> list[str]:
    """The server's databases a researcher may pick: admin, local and config are the server's own."""
    return sorted(n for n in names if n not in SYSTEM_DATABASES)


async def server_databases(settings: Settings) -> tuple[ServerInfo, list[str]]:
    """Ping with these credentials and list the databases; raises StoreError naming the host."""
    client = open_client(settings)
    try:
        info = await ping(client, settings)
        try:
            names = await client.list_database_names()
        except PyMongoError as exc:
            raise store_error(exc, settings.mongodb_uri) from None
    finally:
        await client.close()
    return info, visible_databases(names)
