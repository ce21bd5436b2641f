"""An in-memory store for the unit tier: the real repositories over mongomock's collections.

Why: the turn loop, every protocol's engine, the batch runner's bookkeeping and leases can then
be tested in milliseconds with no server at all. It is the same `Store` (the same repositories,
the same scrubbing and escape form, the same write gate and unique indexes) with only the
driver replaced, and it must pass the contract tests that FerretDB passes
(tests/test_store_contract.py runs them on both). Not for research data: nothing outlives the
process. mongomock is synchronous and needs no I/O, so each call is awaited as is.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable

from pymongo import DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.results import BulkWriteResult

from simulator.store import Store, schema
from simulator.store.connection import ServerInfo

FLAVOUR = "in-memory (mongomock)"


class MemoryCursor:
    """An async face on a mongomock cursor (or any iterable of documents); chaining returns itself."""

    def __init__(self, cursor: Any):
        self._cursor = cursor
        self._iterator: Any = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._cursor, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return self if result is self._cursor else result

        return call

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        documents = []
        for document in self._iter():
            documents.append(document)
            if length and len(documents) >= length:
                break
        return documents

    def _iter(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self._cursor)
        return self._iterator

    def __aiter__(self) -> "MemoryCursor":
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return next(self._iter())
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        return None


class MemoryCollection:
    """pymongo's async collection API, as far as the repositories use it."""

    def __init__(self, collection: Any, database: "MemoryDatabase"):
        self._collection = collection
        self.name = collection.name
        self.database = database

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return attribute(*args, **kwargs)

        return call

    def find(self, *args: Any, **kwargs: Any) -> MemoryCursor:
        return MemoryCursor(self._collection.find(*args, **kwargs))

    async def aggregate(self, pipeline: list, *args: Any, **kwargs: Any) -> MemoryCursor:
        return MemoryCursor(list(self._collection.aggregate(pipeline, *args, **kwargs)))

    async def list_indexes(self) -> MemoryCursor:
        return MemoryCursor([{"name": name, **info, "key": dict(info["key"])}
                             for name, info in self._collection.index_information().items()])

    async def bulk_write(self, requests: Iterable[Any], ordered: bool = True, **_: Any) -> BulkWriteResult:
        """Request by request: mongomock's own bulk_write does not speak pymongo 4.9's request objects."""
        counts = {"nInserted": 0, "nMatched": 0, "nModified": 0, "nRemoved": 0, "nUpserted": 0, "upserted": []}
        for request in requests:
            self._apply(request, counts)
        return BulkWriteResult(counts, acknowledged=True)

    def _apply(self, request: Any, counts: dict[str, Any]) -> None:
        collection = self._collection
        if isinstance(request, InsertOne):
            collection.insert_one(request._doc)
            counts["nInserted"] += 1
            return
        if isinstance(request, (DeleteOne, DeleteMany)):
            delete = collection.delete_one if isinstance(request, DeleteOne) else collection.delete_many
            counts["nRemoved"] += delete(request._filter).deleted_count
            return
        if isinstance(request, ReplaceOne):
            result = collection.replace_one(request._filter, request._doc, upsert=request._upsert)
        elif isinstance(request, (UpdateOne, UpdateMany)):
            update = collection.update_one if isinstance(request, UpdateOne) else collection.update_many
            result = update(request._filter, request._doc, upsert=request._upsert)
        else:
            raise TypeError(f"the in-memory store cannot apply {type(request).__name__}")
        counts["nMatched"] += result.matched_count
        counts["nModified"] += result.modified_count
        if result.upserted_id is not None:
            counts["nUpserted"] += 1
            counts["upserted"].append({"index": 0, "_id": result.upserted_id})


class MemoryDatabase:
    def __init__(self, database: Any, client: "MemoryClient"):
        self._database = database
        self.name = database.name
        self.client = client

    def __getitem__(self, name: str) -> MemoryCollection:
        return MemoryCollection(self._database[name], self)

    async def list_collection_names(self) -> list[str]:
        return self._database.list_collection_names()

    async def command(self, command: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._database.command(command, *args, **kwargs)


class MemoryClient:
    """The client's face the Store uses: databases by name, drop and close."""

    def __init__(self) -> None:
        import mongomock  # a test dependency: only the unit tier builds this store

        self._client = mongomock.MongoClient(tz_aware=True)

    def __getitem__(self, name: str) -> MemoryDatabase:
        return MemoryDatabase(self._client[name], self)

    async def drop_database(self, name: str) -> None:
        self._client.drop_database(name)

    async def close(self) -> None:
        self._client.close()


async def memory_store(db_name: str = "simulator", user: str = "researcher") -> Store:
    """An empty in-memory store with the real indexes (the unique ones refuse duplicates as on a server)."""
    client = MemoryClient()
    db = client[db_name]
    await schema.ensure_indexes(db)
    server = ServerInfo(version="in-memory", flavour=FLAVOUR, database=db_name)
    return Store(client=client, db=db, server=server, write_gate=asyncio.Semaphore(32), user=user)
