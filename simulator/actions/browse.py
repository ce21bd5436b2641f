"""Browsing conversations: filtered lists with message counts, and the creator-only changes.

Anyone may list, view and export a conversation; only its creator may mark it as a
favourite or delete it, the same rule experiments follow. Deleting takes the messages
and summaries with it, children first, so an interrupted delete can be run again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bson import ObjectId

from simulator.actions.experiments import delete_conversations
from simulator.actions.leasing import is_live
from simulator.actions import ownership
from simulator.core.conversation import ENDED, Conversation, Status
from simulator.store import Message, Store
from simulator.store.conversations import ConversationRow


@dataclass(frozen=True)
class Filters:
    """What a list shows: None means anyone / anything."""

    creator: str | None = None
    favourite: bool | None = None
    model: str | None = None
    protocol: str | None = None
    status: str | None = None  # as the list shows it: a running row whose lease lapsed is `stalled`

    def describe(self) -> str:
        parts = [f"by {self.creator}" if self.creator else "",
                 "favourites" if self.favourite else "",
                 f"model {self.model}" if self.model else "",
                 f"protocol {self.protocol}" if self.protocol else "",
                 f"status {self.status}" if self.status else ""]
        return ", ".join(p for p in parts if p) or "all"


async def list_conversations(store: Store, filters: Filters = Filters(), *, experiment_id: ObjectId | None = None,
                             limit: int = 500) -> list[ConversationRow]:
    """Newest first, each with the number of messages stored so far; a running row whose lease
    lapsed reads "stalled".

    Counting every row's messages in one `$group` makes FerretDB v1 read the whole messages
    collection (17.5 s for a list with 10^5 messages stored: benchmarks/web_render.py). A run that
    ended recorded how many messages it stored, a run never started has none, and only the rest
    are counted, each by equality on its id, which an index serves."""
    stored_status = "running" if filters.status == "stalled" else filters.status
    rows = await store.conversations.rows(creator=filters.creator, favourite=filters.favourite, model=filters.model,
                                          experiment_id=experiment_id, limit=limit, protocol=filters.protocol,
                                          status=stored_status)
    recorded = await store.conversations.recorded_counts([r.id for r in rows if r.status in ENDED])
    running = [r.id for r in rows if r.status == Status.RUNNING.value]
    leases = await store.leases.latest_for(running) if running else {}
    counted = []
    for row in rows:
        if row.id in recorded:
            messages = recorded[row.id]
        elif row.status == Status.PENDING.value:
            messages = 0
        else:
            messages = await store.messages.count(row.id)
        stalled = row.status == Status.RUNNING.value and not is_live(leases.get(row.id))
        counted.append(dataclasses.replace(row, messages=messages, status="stalled" if stalled else row.status))
    return [row for row in counted if filters.status is None or row.status == filters.status]


async def conversation_counts(store: Store, experiment_ids: list[ObjectId]) -> dict[ObjectId, int]:
    """Conversations per experiment."""
    return await store.conversations.counts_by_experiment(experiment_ids) if experiment_ids else {}


async def filter_values(store: Store, *, conversations: bool) -> tuple[list[str], list[str]]:
    """The creators and models that exist, to offer as filter choices."""
    if conversations:
        return await store.conversations.creators_and_models()
    return await store.experiments.creators_and_models()


def require_creator(conversation: Conversation, user: str, action: str) -> None:
    ownership.require_creator(conversation.creator, user, action, f"conversation {conversation.id}",
                              "run the experiment yourself to get your own conversation")


async def set_favourite(store: Store, user: str, conversation_id: ObjectId, favourite: bool) -> Conversation:
    conversation = await store.conversations.get(conversation_id)
    require_creator(conversation, user, "change")
    await store.conversations.set_favourite(conversation_id, favourite)
    return dataclasses.replace(conversation, favourite=favourite)


@dataclass(frozen=True)
class Deleted:
    messages: int
    summaries: int


async def delete(store: Store, user: str, conversation_id: ObjectId) -> Deleted:
    conversation = await store.conversations.get(conversation_id)
    require_creator(conversation, user, "delete")
    deleted = await delete_conversations(store, [conversation_id])
    return Deleted(deleted.messages, deleted.summaries)


@dataclass(frozen=True)
class Transcript:
    conversation: Conversation
    messages: list[Message]
    summaries: list[dict]


async def transcript(store: Store, conversation_id: ObjectId) -> Transcript:
    conversation = await store.conversations.get(conversation_id)
    return Transcript(conversation, await store.messages.list(conversation_id),
                      await store.summaries.list(conversation_id))
