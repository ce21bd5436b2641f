"""Experiment documents as researchers design and share them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from simulator.errors import NotFound
from simulator.store.retry import Repository, retry_transient


class ExperimentRepository(Repository):

    @retry_transient
    async def insert(self, doc: dict[str, Any]) -> ObjectId:
        doc = {"created_at": datetime.now(timezone.utc), **doc}
        result = await self.collection.insert_one(doc)
        return result.inserted_id

    async def get(self, experiment_id: ObjectId) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": experiment_id})
        if doc is None:
            raise NotFound(f"no experiment with id {experiment_id}")
        return doc

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return await self.collection.find_one(query)

    async def list(self, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self.collection.find(query or {}).sort("created_at", -1).to_list()

    @retry_transient
    async def update(self, experiment_id: ObjectId, fields: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": experiment_id}, {"$set": fields})

    @retry_transient
    async def delete(self, experiment_id: ObjectId) -> None:
        await self.collection.delete_one({"_id": experiment_id})

    async def creators_and_models(self) -> tuple[list[str], list[str]]:
        creators = await self.collection.distinct("creator")
        models = await self.collection.distinct("llms.model")
        return sorted(c for c in creators if c), sorted(m for m in models if m)
