"""Message search: every message whose text contains a phrase, in any case, newest first.

One function, `search_messages`, serves `simulator search` and the explorer's search page. What
matches is defined once, as FerretDB's `{content: {$regex: <the phrase escaped>, $options: "i"}}`
finds it (simulator/store/casefold.py spells out Go's case folding); where the phrase is looked
up depends on the server:

- FerretDB on PostgreSQL (the embedded store): PostgreSQL itself, through psql in a read-only
  transaction, on the table FerretDB keeps the messages in, with a pg_trgm GIN index on the
  message text (simulator/store/postgres_indexes.py) and the phrase as an exact PostgreSQL
  regular expression. FerretDB v1 has no `$text`, and its `$regex` reads every message: 18 s at
  10^5 messages. Measured with benchmarks/search_scale.py (README, Benchmarks): a median of
  milliseconds at 10^6. The index is updated by every insert, so a message is found as soon as
  it is stored.
- MongoDB whose messages collection has a text index on `content`: `$text` with the phrase
  narrows by whole words through that index, and the same `$regex` keeps only true matches.
  A fragment of a word (`ard` in `yard`) is not a word there and finds nothing.
- anywhere else (MongoDB without a text index, FerretDB on SQLite, a PostgreSQL psql cannot
  reach): the `$regex`, which reads every message searched.

"Newest first" is the order messages were stored in (`_id`, an ObjectId, starts with its
creation time), the same on every path, so every path returns the same messages.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId

from simulator.errors import ValidationError
from simulator.logs import get_logger
from simulator.store import Store, postgres_indexes, schema
from simulator.store.casefold import postgres_pattern, python_pattern
from simulator.store.messages import Message, literal_pattern
from simulator.store.storable import decode, encode

log = get_logger("store.search")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

MAX_TEXT = 1000  # characters searched for at most
MAX_LIMIT = 10000
# The newest messages read first (RECENT_FACTOR x limit, at least RECENT_AT_LEAST): for a phrase in at
# least one message of RECENT_FACTOR (5%) they hold `limit` matches, so the trigram index (which
# returns every match, in storage order, to be sorted) is left for rarer phrases. Reading 2,000
# messages costs about 15 ms at any size.
RECENT_FACTOR = 20
RECENT_AT_LEAST = 2000
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
    return None if out.strip().endswith("built") else "psql could not build it: see logs/simulator.log"


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


async def _has_text_index(store: Store) -> bool:
    async for index in await store.db[schema.MESSAGES].list_indexes():
        if index.get("key", {}).get("_fts") == "text" and "content" in index.get("weights", {}):
            return True
    return False


# --- FerretDB on PostgreSQL: the trigram index, read-only through psql -----------------------------------

async def _on_postgres(store: Store, text: str, conversation_ids: list[ObjectId] | None, role: str | None,
                       limit: int) -> tuple[list[Message], str] | None:
    """None when this is not FerretDB on a PostgreSQL psql can reach (the caller uses `$regex`)."""
    server = store.server
    if not (server.flavour.startswith("FerretDB") and server.backend.startswith("PostgreSQL")):
        return None
    cluster = await postgres_indexes.read_record(store.db)
    if cluster is None or not (cluster.psql.exists() or shutil.which(str(cluster.psql))):
        return None
    script = search_sql(store.db.name, encode(text), conversation_ids, role and encode(role), limit)
    out = await postgres_indexes.run_psql(cluster, script, purpose="message search")
    if not out.startswith("indexed="):
        return None  # psql could not run or reach the cluster: logged by run_psql
    indexed, *rows = out.splitlines()
    docs = [doc for line in rows[:1] for doc in json.loads(line)] + [json.loads(line) for line in rows[1:]]
    engine = "PostgreSQL trigram index" if indexed == "indexed=true" else \
        "PostgreSQL without its trigram index (every message read)"
    return newest_matches([decode(stored_form(doc)) for doc in docs], text), engine


def search_sql(database: str, text: str, conversation_ids: list[ObjectId] | None, role: str | None,
               limit: int) -> str:
    """A psql script: the messages table from FerretDB's metadata, whether its trigram index is
    ready, then the newest `limit` + 1 matches as JSON, in one read-only transaction.

    The newest messages come first, but the trigram index finds matches in storage order, to be
    read and sorted: all 10^6 of them for `the` at 10^6 messages (seconds). So the script first
    reads the newest RECENT_FACTOR x `limit` messages (at least RECENT_AT_LEAST), walking FerretDB's `_id` index backwards and
    stopping at `limit` + 1 matches, and prints them as one JSON array; only when they hold fewer
    (a phrase in fewer than one message of RECENT_FACTOR) does it ask the trigram index for every
    match, sorted by the text of `_id` (the order of the `_id` index), with plain index scans off so
    that the planner cannot walk the `_id` index through every message instead. The cost of that
    second part grows with the number of matches (README, Benchmarks)."""
    table = f"{postgres_indexes.identifier(database)}.:\"tbl\""
    match = (f"({postgres_indexes.CONTENT_EXPRESSION}) ~ {postgres_indexes.literal(postgres_pattern(text))}"
             + (f" AND _jsonb->>'role' = {postgres_indexes.literal(role)}" if role else "")
             + (" AND _jsonb->>'conversation_id' = ANY(ARRAY[" + ", ".join(
                 postgres_indexes.literal(str(c)) for c in conversation_ids) + "]::text[])"
                if conversation_ids else ""))
    wanted = limit + 1
    fields = "_jsonb - 'raw_content' - 'usage' - 'logprobs'"
    return f"""\\set ON_ERROR_STOP 1
BEGIN READ ONLY;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT _jsonb->>'table' AS tbl FROM {postgres_indexes.identifier(database)}._ferretdb_database_metadata
 WHERE _jsonb->>'_id' = 'messages' \\gset
\\if :{{?tbl}}
SELECT 'indexed=' || (SELECT coalesce(bool_and(indisvalid), false) FROM pg_index
 WHERE indexrelid = to_regclass(format('%I.%I', {postgres_indexes.literal(database)},
                                       :'tbl' || {postgres_indexes.literal(postgres_indexes.TRIGRAM_SUFFIX)})));
SELECT count(*) >= {wanted} AS recent_enough, coalesce(jsonb_agg({fields}), '[]')::text AS recent_rows
FROM (SELECT _jsonb FROM (SELECT _jsonb FROM {table} ORDER BY _jsonb->'_id' DESC LIMIT {max(RECENT_AT_LEAST, RECENT_FACTOR * limit)}) newest
      WHERE {match} LIMIT {wanted}) found \\gset
\\echo :recent_rows
\\if :recent_enough
\\else
SET LOCAL enable_indexscan = off;
SELECT ({fields})::text FROM {table} WHERE {match} ORDER BY _jsonb->>'_id' DESC LIMIT {wanted};
\\endif
\\else
SELECT 'indexed=false';
\\endif
COMMIT;
"""


def stored_form(doc: dict[str, Any]) -> dict[str, Any]:
    """A document as pymongo would read it, from FerretDB's stored form: `$s` names each top-level
    field's BSON type (an ObjectId is stored as its hex, a date as milliseconds since 1970)."""
    types = {name: spec.get("t") for name, spec in doc.get("$s", {}).get("p", {}).items()}
    values: dict[str, Any] = {}
    for name, value in doc.items():
        kind = types.get(name)
        if kind == "objectId":
            value = ObjectId(value)
        elif kind == "date":
            value = EPOCH + timedelta(milliseconds=value)
        if name != "$s":
            values[name] = value
    return values
