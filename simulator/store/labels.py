"""Outcome labels of conversations: one document per (conversation, annotator).

The `_id` is "<conversation>:<annotator>", so an annotator labelling a conversation again
replaces their label and never adds a second one; an adjudication is stored once per
conversation as "<conversation>:adjudication" (a later one replaces it) and records who
adjudicated. Annotators are people (their user name) or LLM judges ("judge:<model>"), told
apart by `kind`. A judge whose answer did not parse leaves a label with no goal and the
reason in `error`, so the failure is counted and shown, never taken for "NotTried".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from bson import ObjectId
from pymongo import ReplaceOne

from simulator.store.retry import Repository, retry_transient

PERSON, JUDGE, ADJUDICATOR = "person", "judge", "adjudicator"
KINDS = (PERSON, JUDGE, ADJUDICATOR)
ADJUDICATION = "adjudication"


@dataclass(frozen=True)
class OutcomeLabel:
    conversation_id: ObjectId
    annotator: str  # a user name, or "judge:<model>"; for an adjudication, who adjudicated
    kind: str  # person | judge | adjudicator
    goal_achieved: str | None  # "Yes", "No", "NotTried"; None when a judge gave no usable answer
    third: int | None = None  # with "Yes": the third (1-3) in which it was achieved
    note: str = ""
    error: str | None = None  # why a judge's answer could not be used
    detail: str | None = None  # a judge's raw reply
    rubric: str | None = None  # digest of the rubric a judge was given
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def key(self) -> str:
        who = ADJUDICATION if self.kind == ADJUDICATOR else self.annotator
        return f"{self.conversation_id}:{who}"

    @property
    def usable(self) -> bool:
        return self.goal_achieved is not None

    def document(self) -> dict[str, Any]:
        return {"_id": self.key, **{name: getattr(self, name) for name in self.__dataclass_fields__}}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "OutcomeLabel":
        return cls(**{name: doc[name] for name in cls.__dataclass_fields__ if name in doc})


class LabelRepository(Repository):

    @retry_transient
    async def save_many(self, labels: list[OutcomeLabel]) -> int:
        """Store (or replace) labels, all in one bulk of upserts by `_id`."""
        if not labels:
            return 0
        await self.collection.bulk_write([ReplaceOne({"_id": l.key}, l.document(), upsert=True) for l in labels],
                                         ordered=False)
        return len(labels)

    async def for_conversations(self, conversation_ids: list[ObjectId],
                                annotator: str | None = None) -> list[OutcomeLabel]:
        """Labels of these conversations (only one annotator's, if named: what a blind annotator may see)."""
        if not conversation_ids:
            return []
        query: dict[str, Any] = {"conversation_id": {"$in": conversation_ids}}
        if annotator is not None:
            query["annotator"] = annotator
            query["kind"] = {"$ne": ADJUDICATOR}
        docs = await self.collection.find(query).sort([("conversation_id", 1), ("annotator", 1)]).to_list()
        return [OutcomeLabel.from_document(d) for d in docs]

    @retry_transient
    async def delete_for(self, conversation_ids: list[ObjectId]) -> int:
        result = await self.collection.delete_many({"conversation_id": {"$in": conversation_ids}})
        return result.deleted_count
