"""Recorded model calls for exact replay (see simulator/llm/replay.py).

The call key is the `_id`, so lookups stay fast on FerretDB (which pushes down only `_id`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pymongo.errors import DuplicateKeyError


from simulator.store.retry import Repository, retry_transient


class ModelCallRepository(Repository):

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": key}, {"_id": 0})

    @retry_transient
    async def put(self, key: str, document: dict[str, Any]) -> None:
        """Insert once; a second recording of the same key keeps the first (its duplicate key is that same
        success: two runners recording one call in a takeover, or a retried insert that had landed). A plain
        insert, not an upsert: on FerretDB an upsert is a query and then a write."""
        try:
            await self.collection.insert_one({**document, "_id": key, "key": key,
                                              "created_at": datetime.now(timezone.utc)})
        except DuplicateKeyError:
            pass

    async def for_scope(self, scope: str) -> list[dict[str, Any]]:
        """Every call recorded for one conversation, oldest first (what a replay would send)."""
        return await self.collection.find({"scope": scope}).sort("created_at", 1).to_list()
