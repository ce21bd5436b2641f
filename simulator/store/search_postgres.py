"""Message search on the embedded store: PostgreSQL itself, read-only through psql, on the table FerretDB
keeps the messages in (simulator/store/search.py chooses this path; simulator/store/postgres_indexes.py
builds the index).

The index is one GIN index over two expressions: the message text's trigrams (pg_trgm) and the
text of the message's `_id` (btree_gin). The phrase is an exact PostgreSQL regular expression
(simulator/store/casefold.py), whose trigrams the index looks up; the `_id` part lets one index
scan keep only the messages stored after a given moment (an ObjectId starts with its creation
second), so a phrase found in many messages is not read in full to find its newest ones.

Why not FerretDB: v1 has no `$text`, and its `$regex` decodes every message (18 s at 10^5).
Why trigrams: the search is for any substring (`ard` finds `yard`), which a word index (a
tsvector, `$text`) does not find; why psql: it is PostgreSQL's own client, installed with the
server (no driver to add), and a read-only transaction guarantees the search writes nothing.
Measured with benchmarks/search_scale.py (docs/benchmarks.md).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId

from simulator.store import postgres_indexes as pg
from simulator.store.casefold import postgres_pattern

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# The newest messages walked first (RECENT_FACTOR x limit, at least RECENT_AT_LEAST): a phrase in one
# message of RECENT_FACTOR (10%) or more has its `limit` newest matches there, found without the
# index (whose matches for `the` would be every message). 1,000 messages: about 10 ms.
RECENT_FACTOR = 10
RECENT_AT_LEAST = 1000
# A phrase the walk found often enough to expect more than CROWDED x (limit + 1) matches in all is
# looked up first among the messages stored lately: in a window expected to hold WINDOW_MATCHES x
# (limit + 1) of them. Rarer phrases go to the index at once (a `_id` bound costs a scan of the
# `_id` entries it keeps: about 30 ms per 10^5).
CROWDED, WINDOW_MATCHES = 10, 3
# Fields a search returns, and those FerretDB stores in a form of its own (ObjectIds as hex, dates
# as milliseconds since 1970).
FIELDS = ("_id", "conversation_id", "index", "day", "role", "speaker", "content", "created_at", "round", "lease")
OBJECT_IDS, DATES = ("_id", "conversation_id"), ("created_at",)


def script(database: str, text: str, conversation_ids: list[ObjectId] | None, role: str | None, limit: int,
           walk: int | None = None) -> str:
    """A psql script printing `indexed=true|false`, then the newest `limit` + 1 matches as JSON: first
    one array (the walk), then one document per line (the index), in one read-only transaction.

    1. The walk: the newest messages through FerretDB's own `_id` index, backwards, stopping at
       `limit` + 1 matches. Enough for a common phrase, whose matches the index would return all
       (in storage order, to be read and sorted: seconds at 10^6 for `the`).
    2. Otherwise the index. From the matches the walk found, the number in the whole table is
       estimated; when it is large, the index is first asked only for messages stored in the
       last share of the time that should hold a few times `limit` matches (an ObjectId starts
       with its creation second), and for all of them only when that window holds too few (a
       condition PostgreSQL checks once, before that scan). The window's newest matches are the
       newest of all whenever it holds `limit` + 1, however unevenly messages arrived: the
       estimate only decides how much is read.

    `walk` replaces the number of messages walked (tests reach the index with a small corpus)."""
    wanted = limit + 1
    table = f'{pg.identifier(database)}.:"tbl"'
    match = f"({pg.CONTENT_EXPRESSION}) ~ {pg.literal(postgres_pattern(text))}" + scope(conversation_ids, role)
    fields = "jsonb_build_object(" + ", ".join(f"'{f}', _jsonb->'{f}'" for f in FIELDS) + ")"
    walked = walk if walk is not None else max(RECENT_AT_LEAST, RECENT_FACTOR * limit)
    walk = (f"SELECT _jsonb FROM (SELECT _jsonb FROM {table} ORDER BY _jsonb->'_id' DESC LIMIT {walked}) newest "
            f"WHERE {match} LIMIT {wanted}")
    return f"""\\set ON_ERROR_STOP 1
BEGIN READ ONLY;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT _jsonb->>'table' AS tbl FROM {pg.identifier(database)}._ferretdb_database_metadata
 WHERE _jsonb->>'_id' = {pg.literal("messages")} \\gset
\\if :{{?tbl}}
SELECT 'indexed=' || (SELECT coalesce(bool_and(indisvalid), false) FROM pg_index WHERE indexrelid =
  to_regclass(format('%I.%I', {pg.literal(database)}, :'tbl' || {pg.literal(pg.TRIGRAM_SUFFIX)})));
SELECT count(*) >= {wanted} AS enough, count(*) AS walked_matches, coalesce(jsonb_agg({fields}), '[]')::text AS walked
  FROM ({walk}) found \\gset
\\echo :walked
\\if :enough
\\else
{estimate(database, table, walked, wanted)}
SET LOCAL enable_indexscan = off;
\\if :crowded
{lookups(table, match, fields, wanted, window=True)};
\\else
{lookups(table, match, fields, wanted, window=False)};
\\endif
\\endif
\\else
SELECT 'indexed=false';
\\endif
COMMIT;
"""


def scope(conversation_ids: list[ObjectId] | None, role: str | None) -> str:
    conditions = f" AND _jsonb->>'role' = {pg.literal(role)}" if role else ""
    if conversation_ids:
        ids = ", ".join(pg.literal(str(c)) for c in conversation_ids)
        conditions += f" AND _jsonb->>'conversation_id' = ANY(ARRAY[{ids}]::text[])"
    return conditions


def estimate(database: str, table: str, walked: int, wanted: int) -> str:
    """psql variables `crowded` (many matches expected in all) and `since` (the least `_id`, as hex, of
    the window expected to hold WINDOW_MATCHES x `wanted` matches), from the walk's matches, the
    table's row estimate and the creation seconds of its oldest and newest `_id`."""
    seconds = "('x' || left((SELECT _jsonb->>'_id' FROM {0} ORDER BY _jsonb->'_id' {1} LIMIT 1), 8))::bit(32)::bigint"
    expected = f"(:walked_matches * greatest(reltuples, {walked}) / {walked})"
    share = f"least(1.0, {WINDOW_MATCHES * wanted} / greatest({expected}, 1))"
    return (f"SELECT {expected} > {CROWDED * wanted} AS crowded, lpad(to_hex(newest - ((newest - oldest) * {share})"
            f"::bigint), 8, '0') || '0000000000000000' AS since FROM pg_class, "
            f"(SELECT {seconds.format(table, 'DESC')} AS newest, {seconds.format(table, 'ASC')} AS oldest) times "
            f"WHERE pg_class.oid = to_regclass(format('%I.%I', {pg.literal(database)}, :'tbl')) \\gset")


def lookups(table: str, match: str, fields: str, wanted: int, window: bool) -> str:
    """The index asked for all matches, or first for those of the window, then (only when it holds fewer
    than `wanted`) for all."""
    def newest(where: str) -> str:
        return f"SELECT _jsonb FROM {table} WHERE {where} ORDER BY ({pg.ID_EXPRESSION}) DESC LIMIT {wanted}"

    if not window:
        return f"SELECT ({fields})::text FROM ({newest(match)}) found"
    recent = newest(f"{match} AND ({pg.ID_EXPRESSION}) >= :'since'")
    all_time = newest(f"(SELECT count(*) FROM recent) < {wanted} AND {match}")
    return (f"WITH recent AS MATERIALIZED ({recent}),\nall_time AS MATERIALIZED ({all_time})\n"
            f"SELECT ({fields})::text FROM (SELECT _jsonb FROM recent UNION ALL SELECT _jsonb FROM all_time) found")


def parse(out: str) -> tuple[bool, list[dict[str, Any]]]:
    """(whether the index was ready, the documents as pymongo reads them) from the script's output."""
    indexed, *rows = out.splitlines()
    docs = [doc for line in rows[:1] for doc in json.loads(line)] + [json.loads(line) for line in rows[1:] if line]
    return indexed == "indexed=true", [typed(doc) for doc in docs]


def typed(doc: dict[str, Any]) -> dict[str, Any]:
    """ObjectIds and dates back from FerretDB's stored form; fields the message lacks dropped."""
    values = {name: value for name, value in doc.items() if value is not None}
    for name in OBJECT_IDS:
        values[name] = ObjectId(values[name])
    for name in DATES:
        if name in values:
            values[name] = EPOCH + timedelta(milliseconds=values[name])
    return values
