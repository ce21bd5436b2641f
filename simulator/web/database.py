"""Opening the database for reading only.

`simulator.store.connect` also creates indexes, which is a write: a researcher browsing with
read-only credentials must not need the right to do that, and a viewer should leave the
database as it found it. So the explorer pings the server and uses the repositories as they
are; the indexes are whatever the runs that wrote the data created.
"""

from __future__ import annotations

from simulator.config import Settings, describe_hosts
from simulator.store import Store
from simulator.store.connection import open_client, ping


async def open_read_only(settings: Settings) -> Store:
    """The store without index creation; raises StoreError naming the host when it cannot be reached."""
    client = open_client(settings)
    try:
        server = await ping(client, settings)
    except BaseException:
        await client.close()
        raise
    return Store(client=client, db=client[settings.db_name], server=server, write_gate=None)


def where(settings: Settings) -> str:
    """Host and database name, never the credentials the URI may hold."""
    return f"{describe_hosts(settings.mongodb_uri)} / {settings.db_name}"
