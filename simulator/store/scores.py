"""Scores of messages: one document per (message, scorer), holding that scorer's named scores.

The `_id` is "<conversation>:<index>:<scorer>", so scoring a message again with the same
scorer replaces its document (re-scoring is idempotent and never doubles), and a new scorer
adds documents beside the others without touching them. FerretDB pushes only `_id` equality
down to its backend, and a batch of scores is written as one bulk of upserts by `_id`.

A scorer that could not score a message (an LLM judge whose answer did not parse) stores
the document all the same, with no scores and the reason in `error`, so the failure is
counted and the message is not asked again unless the researcher re-scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from bson import ObjectId
from pymongo import ReplaceOne

from simulator.store.retry import Repository, retry_transient


@dataclass(frozen=True)
class MessageScore:
    conversation_id: ObjectId
    index: int
    scorer: str  # "classifier", "moderation", "judge", a local model's name ...
    scores: Mapping[str, float]  # score name -> value in [0, 1]; empty when the scorer failed
    error: str | None = None  # why there are no scores
    detail: str | None = None  # the scorer's raw answer, where it has one (an LLM judge's reply)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def key(self) -> str:
        return f"{self.conversation_id}:{self.index}:{self.scorer}"

    def document(self) -> dict[str, Any]:
        return {"_id": self.key, "conversation_id": self.conversation_id, "index": self.index,
                "scorer": self.scorer, "scores": dict(self.scores), "error": self.error, "detail": self.detail,
                "created_at": self.created_at}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "MessageScore":
        return cls(conversation_id=doc["conversation_id"], index=doc["index"], scorer=doc["scorer"],
                   scores=dict(doc.get("scores") or {}), error=doc.get("error"), detail=doc.get("detail"),
                   created_at=doc.get("created_at") or datetime.now(timezone.utc))


class ScoreRepository(Repository):

    @retry_transient
    async def save_many(self, scores: list[MessageScore]) -> int:
        """Store (or replace) each message's scores of one scorer; returns how many were written."""
        if not scores:
            return 0
        await self.collection.bulk_write([ReplaceOne({"_id": s.key}, s.document(), upsert=True) for s in scores],
                                         ordered=False)
        return len(scores)

    async def for_conversations(self, conversation_ids: list[ObjectId],
                                scorer: str | None = None) -> list[MessageScore]:
        """Every stored score of these conversations (of one scorer, if named), by conversation and index."""
        if not conversation_ids:
            return []
        query: dict[str, Any] = {"conversation_id": {"$in": conversation_ids}}
        if scorer is not None:
            query["scorer"] = scorer
        docs = await self.collection.find(query).sort([("conversation_id", 1), ("index", 1)]).to_list()
        return [MessageScore.from_document(d) for d in docs]

    @retry_transient
    async def delete_for(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"conversation_id": {"$in": conversation_ids}})
        return result.deleted_count

    async def for_conversation(self, conversation_id: ObjectId) -> list[MessageScore]:
        """Every stored score of one conversation, by index: equality on the id, which the index serves
        (`for_conversations` takes a `$in`, which FerretDB v1 answers by reading every score)."""
        docs = await self.collection.find({"conversation_id": conversation_id}).sort("index", 1).to_list()
        return [MessageScore.from_document(d) for d in docs]
