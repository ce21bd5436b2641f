"""Message search: every message whose text contains a phrase, in any case, newest first.

One function, `search_messages`, serves `simulator search` and the explorer's search page. What
matches is defined once, as FerretDB's `{content: {$regex: <the phrase escaped>, $options: "i"}}`
finds it (simulator/store/casefold.py spells out Go's case folding); where the phrase is looked
up depends on the server:

- FerretDB on PostgreSQL (the embedded store): PostgreSQL itself, through psql in a read-only
  transaction, with a pg_trgm GIN index on the message text (simulator/store/search_postgres.py).
  FerretDB v1 has no `$text`, and its `$regex` reads every message: 18 s at 10^5 messages
  (docs/benchmarks.md, for the figures at 10^6). The index is updated by every insert, so a
  message is found as soon as it is stored.
- MongoDB whose messages collection has a text index on `content`: `$text` with the phrase
  narrows by whole words through that index, and the same `$regex` keeps only true matches.
  A fragment of a word (`ard` in `yard`) is not a word there and finds nothing.
- anywhere else (MongoDB without a text index, FerretDB on SQLite, a PostgreSQL psql cannot
  reach): the `$regex`, which reads every message searched.
On every path the matches are checked once more against the same folding in Python, so MongoDB's
PCRE (whose case rules for a few letters differ from Go's) cannot add a message FerretDB would not
find.

"Newest first" is the order messages were stored in (`_id`, an ObjectId, starts with its
creation time), the same on every path, so every path returns the same messages.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from simulator.errors import ValidationError
from simulator.store import Store, postgres_indexes, search_postgres
from simulator.store.casefold import python_pattern
from simulator.store.messages import Message, literal_pattern
from simulator.store.storable import decode, encode

MAX_TEXT = 1000  # characters searched for at most
MAX_LIMIT = 10000
PER_CONVERSATION = 200  # conversations named: searched one by one with `$regex` up to this many


@dataclass(frozen=True)
class SearchResult:
    hits: list[Message]  # newest first
    more: bool  # more messages match than were returned
    engine: str  # how they were found, for the researcher
    seconds: float


async def search_messages(store: Store, text: str, *, conversation_ids: list[ObjectId] | None = None,
                          role: str | None = None, limit: int = 100) -> SearchResult:
    """Up to `limit` of the newest messages containing `text` in any case, within `conversation_ids`
    (None: all) and `role` (None: any)."""
    check_query(text, limit)
    started = time.perf_counter()
    if conversation_ids == []:
        return SearchResult([], False, "no conversation to search", 0.0)
    found = await _on_postgres(store, text, conversation_ids, role, limit)
    if found is None:
        found = await _on_mongodb(store, text, conversation_ids, role, limit)
    hits, engine = found
    return SearchResult(hits[:limit], len(hits) > limit, engine, time.perf_counter() - started)


def check_query(text: str, limit: int) -> None:
    if not text:
        raise ValidationError("nothing to search for", "give the text to find, e.g. simulator search 'the yard'")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"the search text must be 1 to {MAX_TEXT} characters, got {len(text)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"--limit must be 1 to {MAX_LIMIT}, got {limit}")


def matcher(text: str) -> re.Pattern[str]:
    """Where `text` occurs in a message, exactly as the search matches it (for excerpts)."""
    return python_pattern(text)


def excerpt(content: str, text: str, context: int = 120) -> list[tuple[str, bool]]:
    """The message around the first match, as (part, is a match) pairs, `…` where it was cut."""
    pattern = matcher(text)
    first = pattern.search(content)
    start = max(0, first.start() - context) if first else 0
    end = min(len(content), (first.end() if first else 0) + context)
    window, parts, at = content[start:end], [], 0
    for found in pattern.finditer(window):
        parts += [(window[at:found.start()], False), (found.group(0), True)]
        at = found.end()
    parts.append((window[at:], False))
    return [("…", False)] * (start > 0) + [p for p in parts if p[0]] + [("…", False)] * (end < len(content))


async def build_index(store: Store) -> str | None:
    """Build the trigram index of a collection too large to index at connect, without blocking writes
    (CREATE INDEX CONCURRENTLY; an earlier build left invalid is dropped first). Returns None when
    done, else why it could not be built."""
    server = store.server
    if not (server.flavour.startswith("FerretDB") and server.backend.startswith("PostgreSQL")):
        return f"only the embedded store (FerretDB on PostgreSQL) has a trigram index; this is {server.flavour}"
    cluster = await postgres_indexes.read_record(store.db)
    if cluster is None:
        return "this FerretDB's PostgreSQL is not recorded (start it with scripts/services.py)"
    out = await postgres_indexes.run_psql(cluster, postgres_indexes.build_trigram_sql(store.db.name),
                                          purpose="the trigram index")
    return None if out.strip().endswith("built") else "psql could not build it: its error is in the log (SIM_LOG_DIR)"


# --- MongoDB and FerretDB: $text or $regex ----------------------------------------------------------

async def _on_mongodb(store: Store, text: str, conversation_ids: list[ObjectId] | None, role: str | None,
                      limit: int) -> tuple[list[Message], str]:
    query: dict[str, Any] = {"content": {"$regex": literal_pattern(text), "$options": "i"}}
    engine = "$regex over every message searched"
    collection = store.messages.collection  # reads come back decoded (simulator/store/storable.py)
    if not store.server.flavour.startswith("FerretDB") and await _has_text_index(collection):
        query["$text"] = {"$search": '"' + text.replace('"', " ") + '"'}
        engine = "$text index (whole words), then $regex"
    if role:
        query["role"] = role
    if conversation_ids is None or len(conversation_ids) > PER_CONVERSATION:
        scoped = query if conversation_ids is None else {**query, "conversation_id": {"$in": conversation_ids}}
        docs = await collection.find(scoped).sort("_id", -1).limit(limit + 1).to_list()
    else:  # equality on one conversation is indexed, a `$in` is not on FerretDB v1
        docs = []
        for conversation_id in conversation_ids:
            docs += await collection.find({**query, "conversation_id": conversation_id}).sort("_id", -1) \
                .limit(limit + 1).to_list()
    return newest_matches(docs, text)[:limit + 1], engine


async def _has_text_index(collection) -> bool:
    async for index in await collection.list_indexes():
        if index.get("key", {}).get("_fts") == "text" and "content" in index.get("weights", {}):
            return True
    return False


def newest_matches(docs: list[dict[str, Any]], text: str) -> list[Message]:
    """The documents whose content matches (each once), newest `_id` first, as messages."""
    pattern = python_pattern(text)
    unique = {d["_id"]: d for d in docs if isinstance(d.get("content"), str) and pattern.search(d["content"])}
    return [Message.from_document(unique[key]) for key in sorted(unique, reverse=True)]


# --- FerretDB on PostgreSQL: its trigram index, read-only through psql ------------------------------------

async def _on_postgres(store: Store, text: str, conversation_ids: list[ObjectId] | None, role: str | None,
                       limit: int, walk: int | None = None) -> tuple[list[Message], str] | None:
    """None when this is not FerretDB on a PostgreSQL psql can reach (the caller uses `$regex`). The stored
    text is in the store's escape form (simulator/store/storable.py), so the phrase is too."""
    server = store.server
    if not (server.flavour.startswith("FerretDB") and server.backend.startswith("PostgreSQL")):
        return None
    cluster = await postgres_indexes.read_record(store.db)
    if cluster is None or not (cluster.psql.exists() or shutil.which(str(cluster.psql))):
        return None
    sql = search_postgres.script(store.db.name, encode(text), conversation_ids, role and encode(role), limit, walk)
    out = await postgres_indexes.run_psql(cluster, sql, purpose="message search")
    if not out.startswith("indexed="):
        return None  # psql could not run or reach the cluster: logged by run_psql
    indexed, docs = search_postgres.parse(out)
    engine = "PostgreSQL trigram index" if indexed else "PostgreSQL without its trigram index (every message read)"
    return newest_matches([decode(doc) for doc in docs], text), engine
