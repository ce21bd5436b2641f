"""Browsing conversations: filtered lists with message counts, and the creator-only changes.

Anyone may list, view and export a conversation; only its creator may mark it as a
favourite or delete it, the same rule experiments follow. Deleting takes the messages
and summaries with it, children first, so an interrupted delete can be run again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from simulator.actions.experiments import delete_conversations
from simulator.errors import PermissionDenied
from simulator.store import Store


@dataclass(frozen=True)
class Filters:
    """What a list shows: None means anyone / anything."""

    creator: str | None = None
    favourite: bool | None = None
    model: str | None = None

    def describe(self) -> str:
        parts = [f"by {self.creator}" if self.creator else "",
                 "favourites" if self.favourite else "",
                 f"model {self.model}" if self.model else ""]
        return ", ".join(p for p in parts if p) or "all"


@dataclass(frozen=True)
class ConversationRow:
    id: ObjectId
    experiment_name: str
    creator: str
    created_at: datetime | None
    favourite: bool
    status: str
    messages: int
    n_messages: int
    model: str
    agent_counts: dict[str, int]


def conversation_query(filters: Filters, experiment_id: ObjectId | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if experiment_id is not None:
        query["experiment_id"] = experiment_id
    if filters.creator:
        query["creator"] = filters.creator
    if filters.favourite is not None:
        query["favourite"] = filters.favourite
    if filters.model:
        query["llm.model"] = filters.model
    return query


ROW_FIELDS = ["experiment_name", "creator", "created_at", "favourite", "status", "n_messages", "llm.model",
              "agent_counts"]


async def list_conversations(store: Store, filters: Filters = Filters(), *, experiment_id: ObjectId | None = None,
                             limit: int = 500) -> list[ConversationRow]:
    """Newest first, each with the number of messages stored so far."""
    docs = await store.conversations.list(conversation_query(filters, experiment_id), limit=limit, fields=ROW_FIELDS)
    counts = await store.messages.counts([d["_id"] for d in docs]) if docs else {}
    return [ConversationRow(id=d["_id"], experiment_name=d.get("experiment_name", ""), creator=d.get("creator", ""),
                            created_at=d.get("created_at"), favourite=bool(d.get("favourite")),
                            status=d.get("status", "?"), messages=counts.get(d["_id"], 0),
                            n_messages=d.get("n_messages", 0), model=(d.get("llm") or {}).get("model", ""),
                            agent_counts=dict(d.get("agent_counts") or {}))
            for d in docs]


async def conversation_counts(store: Store, experiment_ids: list[ObjectId]) -> dict[ObjectId, int]:
    """Conversations per experiment, in one portable $group."""
    if not experiment_ids:
        return {}
    cursor = await store.conversations.collection.aggregate([
        {"$match": {"experiment_id": {"$in": experiment_ids}}},
        {"$group": {"_id": "$experiment_id", "n": {"$sum": 1}}},
    ])
    return {row["_id"]: row["n"] async for row in cursor}


async def filter_values(store: Store, *, conversations: bool) -> tuple[list[str], list[str]]:
    """The creators and models that exist, to offer as filter choices."""
    collection, model_field = ((store.conversations.collection, "llm.model") if conversations
                               else (store.experiments.collection, "llms.model"))
    creators = await collection.distinct("creator")
    models = await collection.distinct(model_field)
    return sorted(c for c in creators if c), sorted(m for m in models if m)


def require_creator(doc: dict[str, Any], user: str, action: str) -> None:
    creator = doc.get("creator") or ""
    if creator != user:
        raise PermissionDenied(f"only {creator or 'its creator'} may {action} conversation {doc['_id']}; "
                               f"you are {user}")


async def set_favourite(store: Store, user: str, conversation_id: ObjectId, favourite: bool) -> dict[str, Any]:
    doc = await store.conversations.get(conversation_id)
    require_creator(doc, user, "change")
    await store.conversations.collection.update_one({"_id": conversation_id}, {"$set": {"favourite": favourite}})
    return {**doc, "favourite": favourite}


@dataclass(frozen=True)
class Deleted:
    messages: int
    summaries: int


async def delete(store: Store, user: str, conversation_id: ObjectId) -> Deleted:
    doc = await store.conversations.get(conversation_id)
    require_creator(doc, user, "delete")
    deleted = await delete_conversations(store, [conversation_id])
    return Deleted(deleted.messages, deleted.summaries)


@dataclass(frozen=True)
class Transcript:
    doc: dict[str, Any]
    messages: list
    summaries: list[dict]


async def transcript(store: Store, conversation_id: ObjectId) -> Transcript:
    doc = await store.conversations.get(conversation_id)
    return Transcript(doc, await store.messages.list(conversation_id), await store.summaries.list(conversation_id))
