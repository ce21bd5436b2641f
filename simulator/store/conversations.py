"""Conversation documents: settings of one run, its status and its usage totals."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from bson import ObjectId

from simulator.errors import NotFound
from simulator.store.retry import Repository, retry_transient


class Status(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


def now() -> datetime:
    return datetime.now(timezone.utc)


class ConversationRepository(Repository):

    async def create(self, fields: dict[str, Any]) -> ObjectId:
        return (await self.create_many([fields]))[0]

    async def get(self, conversation_id: ObjectId) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound(f"no conversation with id {conversation_id}")
        return doc

    @retry_transient
    async def set_status(self, conversation_id: ObjectId, status: Status, error: str | None = None) -> None:
        stamp = {Status.RUNNING: "started_at", Status.COMPLETED: "finished_at",
                 Status.FAILED: "finished_at", Status.STOPPED: "finished_at"}.get(status)
        update: dict[str, Any] = {"status": status.value, "error": error}
        if stamp:
            update[f"timings.{stamp}"] = now()
        await self.collection.update_one({"_id": conversation_id}, {"$set": update})

    @retry_transient
    async def start_run(self, conversation_id: ObjectId) -> None:
        """Mark running and count the run: `runs` shows how often a conversation was (re)started."""
        await self.collection.update_one({"_id": conversation_id}, {
            "$set": {"status": Status.RUNNING.value, "error": None, "timings.started_at": now()},
            "$inc": {"runs": 1}})

    @retry_transient
    async def create_many(self, documents: list[dict[str, Any]]) -> list[ObjectId]:
        """Insert pending conversations (a batch stores all of its cells up front)."""
        stamped = [{"status": Status.PENDING.value, "error": None, "favourite": False, "created_at": now(),
                    "timings": {}, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}, **d}
                   for d in documents]
        result = await self.collection.insert_many(stamped, ordered=True)
        return list(result.inserted_ids)

    @retry_transient
    async def finish(self, conversation_id: ObjectId, status: Status, reason: str, usage: dict[str, Any],
                     n_stored: int) -> None:
        """Record how a run ended: failed runs keep their reason in `error`, others in `stop_reason`."""
        failed = status is Status.FAILED
        await self.collection.update_one({"_id": conversation_id}, {"$set": {
            "status": status.value, "error": reason if failed else None, "stop_reason": None if failed else reason,
            "usage": usage, "stored_messages": n_stored, "timings.finished_at": now()}})

    @retry_transient
    async def add_usage(self, conversation_id: ObjectId, prompt_tokens: int, completion_tokens: int,
                        cost: float = 0.0) -> None:
        await self.collection.update_one(
            {"_id": conversation_id},
            {"$inc": {"usage.prompt_tokens": prompt_tokens, "usage.completion_tokens": completion_tokens,
                      "usage.cost": cost}},
        )

    async def list(self, query: dict[str, Any] | None = None, limit: int = 0,
                   fields: list[str] | None = None) -> list[dict[str, Any]]:
        """Newest first; `fields` limits what is read (the rendered prompts are most of a document)."""
        projection = dict.fromkeys(fields, 1) if fields else None
        return await self.collection.find(query or {}, projection).sort("created_at", -1).limit(limit).to_list()

    async def delete(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"_id": {"$in": conversation_ids}})
        return result.deleted_count
