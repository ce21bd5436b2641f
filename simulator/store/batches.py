"""Batch documents: the grid, every cell with its conversation id, and the batch status."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from simulator.core.batch import Batch
from simulator.errors import NotFound
from simulator.store.retry import Repository, retry_transient


class BatchRepository(Repository):

    @retry_transient
    async def insert(self, doc: dict[str, Any]) -> ObjectId:
        result = await self.collection.insert_one({"created_at": datetime.now(timezone.utc), **doc})
        return result.inserted_id

    async def get(self, batch_id: ObjectId) -> Batch:
        doc = await self.collection.find_one({"_id": batch_id})
        if doc is None:
            raise NotFound(f"no batch with id {batch_id}", "`simulator batch EXPERIMENT ...` prints batch ids")
        return Batch.from_document(doc)

    @retry_transient
    async def set_status(self, batch_id: ObjectId, status: str, note: str | None = None) -> None:
        await self.collection.update_one({"_id": batch_id}, {"$set": {"status": status, "note": note,
                                                                      "updated_at": datetime.now(timezone.utc)}})

    @retry_transient
    async def request_stop(self, batch_id: ObjectId, user: str | None) -> None:
        """Ask every runner of the batch, wherever it runs, to stop its cells (None: clear the request)."""
        await self.collection.update_one({"_id": batch_id}, {"$set": {"stop_requested": user,
                                                                      "updated_at": datetime.now(timezone.utc)}})

    async def stop_requested(self, batch_id: ObjectId) -> str | None:
        doc = await self.collection.find_one({"_id": batch_id}, {"stop_requested": 1})
        return (doc or {}).get("stop_requested")

    async def list(self, *, experiment_id: ObjectId | None = None, limit: int = 0, creator: str | None = None,
                   protocol: str | None = None) -> list[Batch]:
        """Batches newest first; every filter given must match (role experiments' batches may lack `protocol`)."""
        query: dict[str, Any] = {}
        if experiment_id is not None:
            query["experiment_id"] = experiment_id
        if creator:
            query["creator"] = creator
        if protocol:
            query["protocol"] = {"$in": [protocol, None]} if protocol == "roles" else protocol
        docs = await self.collection.find(query).sort("created_at", -1).limit(limit).to_list()
        return [Batch.from_document(d) for d in docs]
