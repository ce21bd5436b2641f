"""Judge rubrics stored with an experiment, so everyone who judges its runs asks the same question.

One document per (experiment, purpose), `_id` "<experiment>:<purpose>": "outcome" for the
judge that labels persuasion outcomes, "score:<name>" for a judge that scores messages.
Storing a rubric again replaces it; labels and scores keep the digest of the rubric they
were made with, so a changed rubric shows in the data.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from simulator.store.retry import Repository, retry_transient


class RubricRepository(Repository):

    @retry_transient
    async def save(self, experiment_id: ObjectId, purpose: str, rubric: dict[str, Any], creator: str) -> None:
        await self.collection.replace_one(
            {"_id": f"{experiment_id}:{purpose}"},
            {"experiment_id": experiment_id, "purpose": purpose, "rubric": rubric, "creator": creator,
             "updated_at": datetime.now(timezone.utc)},
            upsert=True)

    async def get(self, experiment_id: ObjectId, purpose: str) -> dict[str, Any] | None:
        doc = await self.collection.find_one({"_id": f"{experiment_id}:{purpose}"})
        return doc["rubric"] if doc else None
