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
        """Insert once; a second recording of the same key keeps the first. Two runners recording the same
        call at once (a takeover) race on the upsert, and the loser's duplicate key is that same success."""
        try:
            await self.collection.update_one(
                {"_id": key},
                {"$setOnInsert": {**document, "key": key, "created_at": datetime.now(timezone.utc)}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass

    async def for_scope(self, scope: str) -> list[dict[str, Any]]:
        """Every call recorded for one conversation, oldest first (what a replay would send)."""
        return await self.collection.find({"scope": scope}).sort("created_at", 1).to_list()
