"""`simulator db ...`: check the database connection."""

from __future__ import annotations

import argparse

from simulator.config import Settings
from simulator.store import connect


def register(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="database commands")
    sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    ping = sub.add_parser("ping", help="connect, print the server version and database name")
    ping.set_defaults(handler=ping_command)


async def ping_command(args: argparse.Namespace, settings: Settings) -> int:
    async with await connect(settings) as store:
        print(store.server.describe())
    return 0
