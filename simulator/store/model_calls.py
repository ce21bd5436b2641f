"""Recorded model calls for exact replay (see simulator/llm/replay.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection


class ModelCallRepository:
    def __init__(self, collection: AsyncCollection):
        self.collection = collection

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"key": key}, {"_id": 0})

    async def put(self, key: str, document: dict[str, Any]) -> None:
        """Insert once; a second recording of the same key keeps the first."""
        await self.collection.update_one(
            {"key": key},
            {"$setOnInsert": {**document, "key": key, "created_at": datetime.now(timezone.utc)}},
            upsert=True,
        )
