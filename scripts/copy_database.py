#!/usr/bin/env python3
"""Copy a simulator database from one MongoDB-compatible server to another, documents and ids intact.

Written to move a `.data/` of the SQLite-backed FerretDB (the embedded store before
PostgreSQL) to the new store; it works between any two servers (MongoDB, FerretDB).

    make services                                                   # the new store on 27017
    .venv/bin/python scripts/services.py up --backend sqlite --mongo-port 27018   # the old .data
    .venv/bin/python scripts/copy_database.py mongodb://127.0.0.1:27018 mongodb://127.0.0.1:27017
    .venv/bin/python scripts/services.py down                       # then `make services` again

Every collection of the database (default `simulator`, or DB_NAME) is copied in batches
with insert_many; the target database must not hold any of them yet, so nothing is mixed
or doubled. Afterwards the store connects to the target once, which creates its indexes
(and, on FerretDB over PostgreSQL, the GIN indexes). Prints what it copied.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from simulator.config import Settings
from simulator.errors import SimulatorError
from simulator.store import connect
from simulator.store.connection import store_error

BATCH = 1000


class CopyError(Exception):
    """Why nothing (more) was copied, in one line."""


def copy_collection(source, target, name: str) -> int:
    copied, batch = 0, []
    for doc in source[name].find({}, batch_size=BATCH):
        batch.append(doc)
        if len(batch) == BATCH:
            target[name].insert_many(batch, ordered=False)
            copied, batch = copied + len(batch), []
    if batch:
        target[name].insert_many(batch, ordered=False)
        copied += len(batch)
    return copied


def _reach(uri: str) -> MongoClient:
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        client.close()
        raise CopyError(store_error(exc, uri).one_line()) from None
    return client


def copy_database(source_uri: str, target_uri: str, database: str, target_database: str) -> dict[str, int]:
    with _reach(source_uri) as source, _reach(target_uri) as target:
        names = sorted(n for n in source[database].list_collection_names() if not n.startswith("system."))
        if not names:
            raise CopyError(f"database {database} at {source_uri} has no collections")
        present = [n for n in names if target[target_database][n].estimated_document_count()]
        if present:
            raise CopyError(f"database {target_database} at {target_uri} already holds {', '.join(present)}; "
                            f"copy into another one with --target-db, or drop it first")
        return {name: copy_collection(source[database], target[target_database], name) for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="URI of the server to copy from")
    parser.add_argument("target", help="URI of the server to copy to")
    parser.add_argument("--db", default=os.environ.get("DB_NAME") or "simulator", help="database (default simulator)")
    parser.add_argument("--target-db", help="database name on the target (default: the same)")
    args = parser.parse_args(argv)
    target_db = args.target_db or args.db
    try:
        copied = copy_database(args.source, args.target, args.db, target_db)
        asyncio.run(_prepare(Settings(mongodb_uri=args.target, db_name=target_db)))
    except CopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:  # both servers answered a moment ago; writing is what failed
        print(f"error: copying stopped: {store_error(exc, args.target).one_line()}", file=sys.stderr)
        return 1
    except SimulatorError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    for name, count in copied.items():
        print(f"{name}: {count} documents")
    print(f"copied database {args.db} to {target_db} at {args.target}")
    return 0


async def _prepare(settings: Settings) -> None:
    """Connect once: the store creates its indexes (and GIN indexes on FerretDB over PostgreSQL)."""
    store = await connect(settings)
    await store.close()


if __name__ == "__main__":
    sys.exit(main())
