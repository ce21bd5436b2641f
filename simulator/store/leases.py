"""Leases on conversations: who may run one now, as insert-only documents.

FerretDB v1 runs an update as a read, then a write by `_id`, so two runners can both "win" a
conditional update: a claim cannot be a compare-and-swap on the conversation. An insert with
a taken `_id` is refused atomically, though (the server's unique index), so each claim
inserts a new lease whose `_id` is the conversation and the next epoch:
"<conversation>:<epoch>". Of two runners claiming the same epoch one gets the duplicate-key
error and loses; the epoch is the fencing token (a newer epoch means this lease was lost),
and the number of epochs is the number of runs. Only the holder touches its own lease after
that (renewals, release), so those updates need no isolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from simulator.store.retry import Repository, retry_transient


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LeaseRecord:
    conversation_id: ObjectId
    epoch: int  # 1 for the first run; the fencing token
    owner: str  # "<host>:<pid>:<random>" of the runner
    host: str
    pid: int
    run: str  # the batch run (or single run) that claimed it
    claimed_at: datetime
    expires_at: datetime
    released: bool = False

    @property
    def id(self) -> str:
        return f"{self.conversation_id}:{self.epoch:09d}"

    def document(self) -> dict[str, Any]:
        return {"_id": self.id, "conversation_id": self.conversation_id, "epoch": self.epoch, "owner": self.owner,
                "host": self.host, "pid": self.pid, "run": self.run, "claimed_at": self.claimed_at,
                "expires_at": self.expires_at, "released": self.released}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "LeaseRecord":
        return cls(conversation_id=doc["conversation_id"], epoch=doc["epoch"], owner=doc["owner"], host=doc["host"],
                   pid=doc["pid"], run=doc.get("run", ""), claimed_at=doc["claimed_at"],
                   expires_at=doc["expires_at"], released=bool(doc.get("released")))


class LeaseRepository(Repository):

    async def latest(self, conversation_id: ObjectId) -> LeaseRecord | None:
        docs = await self.collection.find({"conversation_id": conversation_id}).sort("epoch", -1).limit(1).to_list()
        return LeaseRecord.from_document(docs[0]) if docs else None

    async def latest_for(self, conversation_ids: list[ObjectId]) -> dict[ObjectId, LeaseRecord]:
        """The newest lease of each conversation (for status tables)."""
        latest: dict[ObjectId, LeaseRecord] = {}
        if not conversation_ids:
            return latest
        async for doc in self.collection.find({"conversation_id": {"$in": conversation_ids}}):
            record = LeaseRecord.from_document(doc)
            if record.conversation_id not in latest or record.epoch > latest[record.conversation_id].epoch:
                latest[record.conversation_id] = record
        return latest

    @retry_transient
    async def claim(self, record: LeaseRecord) -> bool:
        """Insert this epoch's lease; False when another runner claimed the same epoch first."""
        try:
            await self.collection.insert_one(record.document())
        except DuplicateKeyError:
            return False
        return True

    @retry_transient
    async def renew(self, record: LeaseRecord, expires_at: datetime) -> None:
        await self.collection.update_one({"_id": record.id}, {"$set": {"expires_at": expires_at}})

    @retry_transient
    async def release(self, record: LeaseRecord) -> None:
        await self.collection.update_one({"_id": record.id}, {"$set": {"expires_at": now(), "released": True}})

    @retry_transient
    async def delete_for(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"conversation_id": {"$in": conversation_ids}})
        return result.deleted_count
