"""Conversation documents: the run specification, the rendered inputs, status and usage.

Reads return typed objects (simulator.core.conversation); callers never index raw fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from simulator.core.conversation import Conversation, Status, Usage
from simulator.errors import NotFound
from simulator.store.retry import Repository, retry_transient

__all__ = ["ConversationRepository", "ConversationRow", "Status"]


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ConversationRow:
    """One line of a list: what a researcher scans, without the prompts (most of a document)."""

    id: ObjectId
    title: str
    protocol: str
    creator: str
    created_at: datetime | None
    favourite: bool
    status: str
    n_messages: int
    model: str
    agent_counts: dict[str, int]
    participants: int = 0
    messages: int = 0  # stored so far, filled in by the caller

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "ConversationRow":
        options = doc.get("options") or doc  # before protocols, role options sat at the top level
        return cls(id=doc["_id"], title=doc.get("experiment_name", ""), protocol=doc.get("protocol") or "roles",
                   creator=doc.get("creator", ""), created_at=doc.get("created_at"),
                   favourite=bool(doc.get("favourite")), status=doc.get("status", "?"),
                   n_messages=doc.get("n_messages", 0),
                   model=models_of(doc),
                   agent_counts=dict(options.get("agent_counts") or {}), participants=len(doc.get("agents") or []))


def models_of(doc: dict[str, Any]) -> str:
    """Every model of a run, once each: a chatroom of two models is not shown as one."""
    llms = doc.get("llms") or [doc.get("llm") or {}]
    return " + ".join(dict.fromkeys(llm.get("model", "") for llm in llms))


ROW_FIELDS = ["experiment_name", "protocol", "creator", "created_at", "favourite", "status", "n_messages", "llm.model",
              "llms.model",
              "options.agent_counts", "agent_counts", "agents"]


class ConversationRepository(Repository):

    async def create(self, fields: dict[str, Any]) -> ObjectId:
        return (await self.create_many([fields]))[0]

    @retry_transient
    async def create_many(self, documents: list[dict[str, Any]]) -> list[ObjectId]:
        """Insert pending conversations (a batch stores all of its cells up front)."""
        stamped = [{"status": Status.PENDING.value, "error": None, "favourite": False, "created_at": now(),
                    "timings": {}, "usage": Usage().to_document(), **d} for d in documents]
        result = await self.collection.insert_many(stamped, ordered=True)
        return list(result.inserted_ids)

    @retry_transient
    async def create_once(self, document: dict[str, Any]) -> bool:
        """Insert a conversation with its own `_id` (an imported one); False when it is already stored."""
        try:
            await self.collection.insert_one({"status": Status.PENDING.value, "error": None, "favourite": False,
                                              "created_at": now(), "timings": {},
                                              "usage": Usage().to_document(), **document})
        except DuplicateKeyError:
            return False
        return True

    async def get(self, conversation_id: ObjectId) -> Conversation:
        doc = await self.collection.find_one({"_id": conversation_id})
        if doc is None:
            raise NotFound(f"no conversation with id {conversation_id}")
        return Conversation.from_document(doc)

    async def find(self, *, batch_id: ObjectId | None = None, experiment_id: ObjectId | None = None,
                   creator: str | None = None, protocol: str | None = None, model: str | None = None,
                   options: dict[str, Any] | None = None) -> list[Conversation]:
        """Whole conversations (prompts included), newest first; every filter given must match."""
        pairs = [("batch_id", batch_id), ("experiment_id", experiment_id), ("creator", creator),
                 ("protocol", protocol), ("llm.model", model),
                 *((f"options.{name}", value) for name, value in (options or {}).items())]
        query = {k: v for k, v in pairs if v is not None}
        docs = await self.collection.find(query).sort("created_at", -1).to_list()
        return [Conversation.from_document(d) for d in docs]

    async def in_batch(self, batch_id: ObjectId) -> list[Conversation]:
        return await self.find(batch_id=batch_id)

    async def rows(self, *, creator: str | None = None, favourite: bool | None = None, model: str | None = None,
                   experiment_id: ObjectId | None = None, limit: int = 0, protocol: str | None = None,
                   status: str | None = None) -> list[ConversationRow]:
        """Newest first, reading only the fields a list shows (role experiments stored before protocols
        existed have no `protocol`)."""
        query: dict[str, Any] = {}
        for field, value in (("experiment_id", experiment_id), ("creator", creator), ("favourite", favourite),
                             ("llm.model", model), ("status", status)):
            if value is not None and value != "":
                query[field] = value
        if protocol:
            query["protocol"] = {"$in": [protocol, None]} if protocol == "roles" else protocol
        docs = await self.collection.find(query, dict.fromkeys(ROW_FIELDS, 1)).sort("created_at", -1) \
            .limit(limit).to_list()
        return [ConversationRow.from_document(d) for d in docs]

    async def statuses_in_batch(self, batch_id: ObjectId) -> dict[ObjectId, str]:
        """Each stored cell's status, reading nothing else."""
        docs = await self.collection.find({"batch_id": batch_id}, {"status": 1}).to_list()
        return {d["_id"]: d.get("status", "pending") for d in docs}

    async def ids_of_experiment(self, experiment_id: ObjectId) -> list[ObjectId]:
        return [d["_id"] for d in await self.collection.find({"experiment_id": experiment_id}, {"_id": 1}).to_list()]

    async def counts_by_experiment(self, experiment_ids: list[ObjectId]) -> dict[ObjectId, int]:
        """Conversations per experiment, in one portable $group."""
        cursor = await self.collection.aggregate([
            {"$match": {"experiment_id": {"$in": experiment_ids}}},
            {"$group": {"_id": "$experiment_id", "n": {"$sum": 1}}},
        ])
        return {row["_id"]: row["n"] async for row in cursor}

    async def creators_and_models(self) -> tuple[list[str], list[str]]:
        creators = await self.collection.distinct("creator")
        models = await self.collection.distinct("llm.model")
        return sorted(c for c in creators if c), sorted(m for m in models if m)

    @retry_transient
    async def set_favourite(self, conversation_id: ObjectId, favourite: bool) -> None:
        await self.collection.update_one({"_id": conversation_id}, {"$set": {"favourite": favourite}})

    @retry_transient
    async def start_run(self, conversation_id: ObjectId, runs: int) -> None:
        """Mark running; `runs`, how often it was (re)started, is the lease's epoch: counted by unique
        claims, so concurrent resumes cannot lose a count as a read-modify-write increment could."""
        await self.collection.update_one({"_id": conversation_id}, {
            "$set": {"status": Status.RUNNING.value, "error": None, "timings.started_at": now(), "runs": runs}})

    @retry_transient
    async def finish(self, conversation_id: ObjectId, status: Status, reason: str, usage: Usage, n_stored: int,
                     outcome: dict[str, Any] | None = None) -> None:
        """Record how a run ended: failed runs keep their reason in `error`, others in `stop_reason`."""
        failed = status is Status.FAILED
        fields: dict[str, Any] = {
            "status": status.value, "error": reason if failed else None, "stop_reason": None if failed else reason,
            "usage": usage.to_document(), "stored_messages": n_stored, "timings.finished_at": now()}
        if outcome:
            fields["outcome"] = outcome
        await self.collection.update_one({"_id": conversation_id}, {"$set": fields})

    @retry_transient
    async def delete(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"_id": {"$in": conversation_ids}})
        return result.deleted_count

    async def recorded_counts(self, conversation_ids: list[ObjectId]) -> dict[ObjectId, int]:
        """Messages stored as recorded when each of these runs last ended (`stored_messages`); runs that
        never ended are left out. For lists: counting a large messages collection per row is slow."""
        if not conversation_ids:
            return {}
        docs = await self.collection.find({"_id": {"$in": conversation_ids}, "stored_messages": {"$exists": True}},
                                          {"stored_messages": 1}).to_list()
        return {d["_id"]: int(d["stored_messages"]) for d in docs}

    # --- provenance and forks (issue 25) ---

    @retry_transient
    async def set_provenance(self, conversation_id: ObjectId, record: dict[str, Any]) -> None:
        """Store what a run was made with, once, at its first start (an idempotent $set)."""
        await self.collection.update_one({"_id": conversation_id}, {"$set": {"provenance": record}})

    @retry_transient
    async def add_restart_provenance(self, conversation_id: ObjectId, environment: dict[str, Any]) -> None:
        """A resume under another environment: kept beside the first, never replacing it."""
        await self.collection.update_one({"_id": conversation_id},
                                         {"$addToSet": {"provenance.restarts": environment}})

    async def forks_of(self, conversation_ids: list[ObjectId]) -> list[Conversation]:
        """The direct forks of these conversations, oldest first (a nested-field filter: scans, off hot paths)."""
        if not conversation_ids:
            return []
        docs = await self.collection.find({"forked_from.conversation_id": {"$in": conversation_ids},
                                           "reproduces": {"$exists": False}}) \
            .sort("created_at", 1).to_list()
        return [Conversation.from_document(d) for d in docs]
