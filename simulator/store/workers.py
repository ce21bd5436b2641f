"""Batch workers: who is working on a batch, with counters they renew by heartbeat.

Each worker (a local process or a Ray actor) writes only its own document, so these
updates need no isolation; the runner that started them sums the counters for its live
display, and `simulator batch workers ID` lists the ones whose heartbeat is recent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from simulator.store.retry import Repository, retry_transient


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class WorkerRecord:
    owner: str
    batch_id: ObjectId
    run: str
    host: str
    pid: int
    node: str = ""  # a Ray actor's node address ("" for a local worker process)
    started_at: datetime = field(default_factory=now)
    last_seen: datetime = field(default_factory=now)
    completed: int = 0
    failed: int = 0
    stopped: int = 0
    running: int = 0
    messages: int = 0
    tokens: int = 0
    calls: int = 0  # model calls answered
    cpu_seconds: float = 0.0  # CPU this worker spent on the batch (the cost per call is cpu_seconds / calls)
    finished: bool = False

    def document(self) -> dict[str, Any]:
        return {"_id": self.owner, **{k: v for k, v in vars(self).items() if k != "owner"}}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "WorkerRecord":
        return cls(owner=doc["_id"], **{k: doc[k] for k in cls.__dataclass_fields__ if k != "owner" and k in doc})


class WorkerRepository(Repository):

    @retry_transient
    async def save(self, record: WorkerRecord) -> None:
        """Register or renew a worker: its whole document, written by it alone."""
        record.last_seen = now()
        await self.collection.replace_one({"_id": record.owner}, record.document(), upsert=True)

    async def of_batch(self, batch_id: ObjectId, run: str | None = None) -> list[WorkerRecord]:
        query: dict[str, Any] = {"batch_id": batch_id}
        if run is not None:
            query["run"] = run
        return [WorkerRecord.from_document(d) for d in await self.collection.find(query).sort("started_at", 1)
                .to_list()]

    @retry_transient
    async def delete_for(self, batch_id: ObjectId) -> int:
        return (await self.collection.delete_many({"batch_id": batch_id})).deleted_count
