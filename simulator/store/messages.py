"""Messages of a conversation: appended one at a time, the moment they exist."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from simulator.errors import NotFound
from simulator.store.retry import Repository, retry_transient

DUPLICATE_KEY = 11000


@dataclass
class Message:
    conversation_id: ObjectId
    index: int
    day: int
    role: str
    speaker: str
    content: str
    raw_content: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    latency: float = 0.0
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    round: int | None = None  # only in protocols with rounds (every participant speaks once per round)
    lease: int | None = None  # the epoch of the lease it was written under (which run wrote it)
    # per generated token {token, logprob, top: [{token, logprob}]}, when asked for and the server gave them
    logprobs: list[dict[str, Any]] | None = None

    def document(self) -> dict[str, Any]:
        """The stored shape; built by hand because dataclasses.asdict deep-copies every field."""
        doc = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for optional in ("round", "lease", "logprobs"):
            if doc[optional] is None:
                del doc[optional]
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "Message":
        return cls(**{name: doc[name] for name in cls.__dataclass_fields__ if name in doc})


class MessageRepository(Repository):

    @retry_transient
    async def append(self, message: Message) -> bool:
        """Store a message; False when this (conversation, index) is already stored.

        The unique index makes a retried append after a crash or timeout harmless.
        """
        try:
            await self.collection.insert_one(message.document())
        except DuplicateKeyError:
            return False
        return True

    @retry_transient
    async def append_many(self, messages: list[Message]) -> int:
        """Store several messages at once (an import); those already stored are kept. Returns how many were new."""
        if not messages:
            return 0
        try:
            result = await self.collection.insert_many([m.document() for m in messages], ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise
            return exc.details.get("nInserted", 0)

    async def list(self, conversation_id: ObjectId, day: int | None = None, since: int | None = None) -> list[Message]:
        """In order; only those of `day`, or from index `since` on, when given."""
        query: dict[str, Any] = {"conversation_id": conversation_id}
        if day is not None:
            query["day"] = day
        if since is not None:
            query["index"] = {"$gte": since}
        docs = await self.collection.find(query).sort("index", 1).to_list()
        return [Message.from_document(d) for d in docs]

    async def get(self, conversation_id: ObjectId, index: int) -> Message:
        doc = await self.collection.find_one({"conversation_id": conversation_id, "index": index})
        if doc is None:
            raise NotFound(f"conversation {conversation_id} has no message {index}")
        return Message.from_document(doc)

    async def count(self, conversation_id: ObjectId) -> int:
        return await self.collection.count_documents({"conversation_id": conversation_id})

    async def first_missing_index(self, conversation_id: ObjectId) -> int:
        """Where a resumed conversation continues: the lowest index not stored."""
        cursor = self.collection.find({"conversation_id": conversation_id}, {"index": 1, "_id": 0}).sort("index", 1)
        expected = 0
        async for doc in cursor:
            if doc["index"] != expected:
                break
            expected += 1
        return expected

    @retry_transient
    async def delete_for(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"conversation_id": {"$in": conversation_ids}})
        return result.deleted_count


_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def literal_pattern(text: str) -> str:
    """`text` as a regular expression matching itself, in the syntax both MongoDB (PCRE) and FerretDB
    (Go's RE2) accept: only the metacharacters are escaped (re.escape also escapes spaces, which RE2 refuses)."""
    return _REGEX_SPECIAL.sub(r"\\\1", text)
