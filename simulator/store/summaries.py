"""End-of-day summaries: one per (conversation, day); writing it again replaces it."""

from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection


class SummaryRepository:
    def __init__(self, collection: AsyncCollection):
        self.collection = collection

    async def save(self, conversation_id: ObjectId, day: int, content: str, usage: dict | None = None) -> None:
        await self.collection.update_one(
            {"conversation_id": conversation_id, "day": day},
            {"$set": {"content": content, "usage": usage or {}, "created_at": datetime.now(timezone.utc)}},
            upsert=True,
        )

    async def list(self, conversation_id: ObjectId) -> list[dict]:
        return await self.collection.find({"conversation_id": conversation_id}).sort("day", 1).to_list()

    async def delete_for(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"conversation_id": {"$in": conversation_ids}})
        return result.deleted_count
