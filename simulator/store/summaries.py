"""End-of-day summaries: one per (conversation, day); writing it again replaces it.

The `_id` is "<conversation>:<day>": FerretDB's SQLite backend can only push `_id`
equality down to SQLite, so an upsert by `_id` stays fast however many summaries exist.
"""

from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId

from simulator.store.retry import Repository, retry_transient


class SummaryRepository(Repository):

    @retry_transient
    async def save(self, conversation_id: ObjectId, day: int, content: str, usage: dict | None = None) -> None:
        await self.collection.update_one(
            {"_id": f"{conversation_id}:{day}"},
            {"$set": {"conversation_id": conversation_id, "day": day, "content": content, "usage": usage or {},
                      "created_at": datetime.now(timezone.utc)}},
            upsert=True,
        )

    async def list(self, conversation_id: ObjectId) -> list[dict]:
        return await self.collection.find({"conversation_id": conversation_id}).sort("day", 1).to_list()

    @retry_transient
    async def delete_for(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"conversation_id": {"$in": conversation_ids}})
        return result.deleted_count
