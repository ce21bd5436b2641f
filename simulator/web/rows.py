"""Conversation rows for the lists, with message counts that stay cheap on a large database.

`actions.browse.list_conversations` counts every row's messages in one `$group` over the messages
collection, which FerretDB v1 answers by reading every message (17.5 s for the conversations list
with 10^5 messages stored: benchmarks/web_render.py). A run that ended recorded how many messages
it stored, so only rows still running are counted, each by equality on its id (which the index
serves), and a row never started has none. A running row whose lease lapsed reads "stalled".
"""

from __future__ import annotations

import dataclasses

from bson import ObjectId

from simulator.actions.browse import Filters
from simulator.store import Store
from simulator.store.conversations import ConversationRow
from simulator.web.status import mark_stalled

ENDED = ("completed", "failed", "stopped")


async def conversation_rows(store: Store, filters: Filters = Filters(), *, experiment_id: ObjectId | None = None,
                            limit: int = 500) -> list[ConversationRow]:
    rows = await store.conversations.rows(creator=filters.creator, favourite=filters.favourite, model=filters.model,
                                          experiment_id=experiment_id, limit=limit)
    recorded = await store.conversations.recorded_counts([r.id for r in rows if r.status in ENDED])
    counted = []
    for row in rows:
        if row.status in ENDED and row.id in recorded:
            messages = recorded[row.id]
        elif row.status == "pending":
            messages = 0
        else:
            messages = await store.messages.count(row.id)
        counted.append(dataclasses.replace(row, messages=messages))
    return await mark_stalled(store, counted)
