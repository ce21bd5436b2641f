"""Collection names and their indexes, created idempotently at connect time.

Only plain and unique indexes: they work alike on MongoDB and FerretDB v1.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

EXPERIMENTS = "experiments"
CONVERSATIONS = "conversations"
MESSAGES = "messages"
SUMMARIES = "summaries"
BATCHES = "batches"
MODEL_CALLS = "model_calls"
SCORES = "scores"  # per (message, scorer); keyed by _id
LABELS = "labels"  # outcome labels per (conversation, annotator); keyed by _id
RUBRICS = "rubrics"  # judge rubrics per (experiment, purpose); keyed by _id
LEASES = "leases"  # who runs a conversation: one per (conversation, epoch), keyed by _id
WORKERS = "workers"  # live batch workers and their heartbeats; keyed by _id

COLLECTIONS = (EXPERIMENTS, CONVERSATIONS, MESSAGES, SUMMARIES, BATCHES, MODEL_CALLS, SCORES, LABELS, RUBRICS,
               LEASES, WORKERS)

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict]]] = {
    EXPERIMENTS: [
        ([("creator", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("name", ASCENDING)], {}),
    ],
    CONVERSATIONS: [
        ([("experiment_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("batch_id", ASCENDING)], {}),
        ([("creator", ASCENDING)], {}),
        ([("status", ASCENDING)], {}),
    ],
    # A retried append of the same turn is rejected by the server, not by our code.
    MESSAGES: [([("conversation_id", ASCENDING), ("index", ASCENDING)], {"unique": True})],
    SUMMARIES: [([("conversation_id", ASCENDING), ("day", ASCENDING)], {"unique": True})],
    BATCHES: [([("experiment_id", ASCENDING)], {})],
    MODEL_CALLS: [],  # keyed by _id
    SCORES: [([("conversation_id", ASCENDING), ("index", ASCENDING)], {})],
    LABELS: [([("conversation_id", ASCENDING)], {})],
    RUBRICS: [],  # keyed by _id
    LEASES: [([("conversation_id", ASCENDING), ("epoch", DESCENDING)], {})],
    WORKERS: [([("batch_id", ASCENDING)], {})],
}


async def ensure_indexes(db: AsyncDatabase) -> None:
    for collection, indexes in INDEXES.items():
        for keys, options in indexes:
            await db[collection].create_index(keys, **options)
