"""GIN indexes under FerretDB on PostgreSQL, so equality filters stop scanning.

FerretDB v1's PostgreSQL backend sends top-level equality on strings, ObjectIds, booleans,
dates and small integers to PostgreSQL as `_jsonb->'field' @> value`, but the indexes it
builds for createIndexes are btree on `_jsonb->'field'`, which `@>` cannot use (FerretDB
issue #4646; a GIN index is the fix reported there). So once the store's own indexes exist,
this step adds a GIN expression index, `USING gin ((_jsonb->'field') jsonb_path_ops)`, on
the table behind each hot collection for `_id` and for every field a hot path filters on by
equality (HOT_FIELDS). FerretDB records the table behind a collection in the
`_ferretdb_database_metadata` table of the database's schema. Measured with 10^6 messages
of ~800 characters: listing one conversation went from seconds to milliseconds
(docs/benchmarks.md). The cluster must run with plan_cache_mode=force_custom_plan, since FerretDB's
prepared `_jsonb->$1 @> $2` only matches the index when planned with its values
(scripts/postgres_cluster.py sets it).

Reaching PostgreSQL: scripts/services.py, when it starts FerretDB on PostgreSQL, records the
cluster's socket URL and its binaries in `admin.simulator_store` on that FerretDB (RECORD).
The step runs only when the server is FerretDB, it says its backend is PostgreSQL, and that
record exists; anywhere else (MongoDB, FerretDB on SQLite) it does nothing. The SQL runs in
one psql call (PostgreSQL's own client, installed with the server; no Python driver). It is
idempotent: existing indexes are skipped without taking a lock, and two processes creating
the same index at once is harmless.

Still scanning on PostgreSQL, because FerretDB v1 does not push them down: `$in`, `$or`,
ranges (`$gt`, `$lt`), equality on arrays, documents or null, and any field missing here.
Sorting happens in FerretDB after the filter. Hot paths keep to `_id` and the fields below.

Message search (simulator/store/search.py) reads PostgreSQL itself, through a pg_trgm GIN index on
the message text (`TRIGRAM_INDEX`); see `trigram_sql` for when it is built.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

from simulator.logs import get_logger
from simulator.store import schema
from simulator.store.connection import ServerInfo

log = get_logger("store.postgres_indexes")

HOT_FIELDS: dict[str, tuple[str, ...]] = {
    schema.MESSAGES: ("_id", "conversation_id"),        # list / count / resume one conversation
    schema.SUMMARIES: ("_id", "conversation_id"),
    schema.CONVERSATIONS: ("_id", "experiment_id", "batch_id", "creator"),
    schema.EXPERIMENTS: ("_id", "name", "creator"),     # `simulator run NAME` finds by name
    schema.BATCHES: ("_id", "experiment_id"),
    schema.MODEL_CALLS: ("_id", "scope"),               # replay looks calls up by _id
    schema.SCORES: ("_id", "conversation_id"),
    schema.LABELS: ("_id", "conversation_id"),
    schema.RUBRICS: ("_id",),
    "leases": ("_id", "conversation_id"),               # a runner's lease of one conversation
    "workers": ("_id", "batch_id"),
}

RECORD = ("admin", "simulator_store", "postgresql")  # database, collection, _id
_NAMESPACE_EXISTS = 48


@dataclass(frozen=True)
class Cluster:
    url: str       # libpq URL, e.g. postgresql://ferretdb@/ferretdb?host=/path/to/socket
    bin_dir: Path  # where psql is

    @property
    def psql(self) -> Path:
        return self.bin_dir / "psql"


def write_record(client, url: str, bin_dir: Path) -> None:
    """For scripts/services.py (a synchronous pymongo client): where this FerretDB's PostgreSQL is."""
    database, collection, key = RECORD
    client[database][collection].replace_one({"_id": key}, {"url": url, "bin_dir": str(bin_dir)}, upsert=True)


async def read_record(db: AsyncDatabase) -> Cluster | None:
    database, collection, key = RECORD
    doc = await db.client[database][collection].find_one({"_id": key})
    return Cluster(doc["url"], Path(doc["bin_dir"])) if doc else None


async def ensure(db: AsyncDatabase, server: ServerInfo) -> bool:
    """Add the missing GIN indexes of `db`; False (doing nothing) unless FerretDB runs on PostgreSQL."""
    if not (server.flavour.startswith("FerretDB") and server.backend.startswith("PostgreSQL")):
        return False
    cluster = await read_record(db)
    if cluster is None:
        log.warning("FerretDB on PostgreSQL without a record of its cluster in %s: no GIN indexes, "
                    "equality filters other than FerretDB's own will scan", ".".join(RECORD[:2]))
        return False
    await _create_collections(db)
    await run_psql(cluster, gin_sql(db.name) + trigram_sql(db.name))
    return True


async def _create_collections(db: AsyncDatabase) -> None:
    """Tables exist only once a collection does; model_calls, for one, is created by its first insert."""
    present = set(await db.list_collection_names())
    for name in HOT_FIELDS.keys() - present:
        try:
            await db.create_collection(name)
        except CollectionInvalid:
            pass
        except OperationFailure as exc:  # created by another process in the meantime
            if exc.code != _NAMESPACE_EXISTS:
                raise


async def run_psql(cluster: Cluster, sql: str, purpose: str = "the GIN indexes") -> str:
    """Run `sql` through psql; a failure is logged (queries still work, only slower) and returns ""."""
    try:
        process = await asyncio.create_subprocess_exec(
            str(cluster.psql), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", cluster.url,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        log.warning("cannot run %s for %s: %s", cluster.psql, purpose, exc)
        return ""
    out, err = await process.communicate(sql.encode())
    if process.returncode != 0:
        log.warning("psql failed for %s (exit %s): %s", purpose, process.returncode, err.decode()[-500:])
        return ""
    return out.decode()


def literal(text: str) -> str:
    """An SQL string literal (standard_conforming_strings is on, as FerretDB requires)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """An SQL identifier, quoted (a database's schema is named as the database)."""
    return '"' + name.replace('"', '""') + '"'


def index_name(table: str, field: str) -> str:
    """The name this step gives the GIN index on `table` for `field` (the SQL below builds the same)."""
    return f"{table}_{field}_gin"


def gin_sql(database: str) -> str:
    """One DO block: for each (collection, field), find the table in FerretDB's metadata and index it."""
    pairs = ", ".join(f"ARRAY[{literal(c)}, {literal(f)}]" for c, fields in HOT_FIELDS.items() for f in fields)
    return f"""
DO $gin$
DECLARE
  db text := {literal(database)};
  pair text[];
  tbl text;
  idx text;
BEGIN
  IF to_regclass(format('%I._ferretdb_database_metadata', db)) IS NULL THEN
    RETURN;
  END IF;
  FOREACH pair SLICE 1 IN ARRAY ARRAY[{pairs}] LOOP
    EXECUTE format('SELECT _jsonb->>''table'' FROM %I._ferretdb_database_metadata WHERE _jsonb->>''_id'' = $1', db)
      INTO tbl USING pair[1];
    CONTINUE WHEN tbl IS NULL;
    idx := tbl || '_' || pair[2] || '_gin';
    CONTINUE WHEN to_regclass(format('%I.%I', db, idx)) IS NOT NULL;
    BEGIN
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb -> %L) jsonb_path_ops) '
                     'WITH (fastupdate = off)', idx, db, tbl, pair[2]);
    EXCEPTION WHEN unique_violation OR duplicate_table THEN
      NULL;  -- another process created it at the same moment
    END;
  END LOOP;
END
$gin$;
"""


# The message text as FerretDB stores it, in the C collation whatever the cluster's (the search spells
# out every case itself, simulator/store/casefold.py), and the text of the message's `_id` (an
# ObjectId's hex: its creation time first). The index and the queries use them alike.
CONTENT_EXPRESSION = "(_jsonb->>'content') COLLATE \"C\""
ID_EXPRESSION = "(_jsonb->>'_id') COLLATE \"C\""
TRIGRAM_SUFFIX = "_content_trgm"  # the index is named after the messages table
# Built when a database is connected while it holds fewer messages than this (under a second);
# a larger collection gets it from `simulator search --build-index`, built without blocking writes
# (docs/benchmarks.md, Message search: the time per 10^6 messages).
TRIGRAM_AT_CONNECT = 5000
EXTENSIONS = ("pg_trgm", "btree_gin")  # trigrams of text; `_id` text in the same GIN index


def trigram_index_sql(index: str, table: str, concurrently: bool = False) -> str:
    """The search index (simulator/store/search_postgres.py): the text's trigrams and the `_id` text
    in one GIN index, so one index scan applies both the phrase and a `_id` bound."""
    return (f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}IF NOT EXISTS {index} ON {table} USING gin "
            f"(({CONTENT_EXPRESSION}) public.gin_trgm_ops, ({ID_EXPRESSION}) public.text_ops)")


def trigram_sql(database: str) -> str:
    """The extensions and the search index of the messages, in a block of its own so that a cluster
    without them (a PostgreSQL built without contrib) keeps its GIN indexes, and only while the
    collection is small; `build_trigram_sql` builds it concurrently on a large one.

    `fastupdate` stays on (unlike the equality indexes): an insert adds its ~400 trigrams to the
    index's pending list, which every search also reads, so a message is found as soon as it is
    stored, and the list is merged in bulk (docs/benchmarks.md: an append with and without)."""
    create = trigram_index_sql("%I", "%I.%I").replace("'", "''")
    extensions = "\n    ".join(f"CREATE EXTENSION IF NOT EXISTS {e} SCHEMA public;" for e in EXTENSIONS)
    return f"""
DO $trgm$
DECLARE
  db text := {literal(database)};
  tbl text;
  n bigint;
BEGIN
  IF to_regclass(format('%I._ferretdb_database_metadata', db)) IS NULL THEN
    RETURN;
  END IF;
  EXECUTE format('SELECT _jsonb->>''table'' FROM %I._ferretdb_database_metadata WHERE _jsonb->>''_id'' = $1', db)
    INTO tbl USING {literal(schema.MESSAGES)};
  IF tbl IS NULL OR to_regclass(format('%I.%I', db, tbl || {literal(TRIGRAM_SUFFIX)})) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I.%I LIMIT {TRIGRAM_AT_CONNECT + 1}) s', db, tbl) INTO n;
  IF n > {TRIGRAM_AT_CONNECT} THEN
    RETURN;  -- too large to build while a command waits to connect
  END IF;
  BEGIN
    {extensions}
  EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;  -- another process created them at the same moment
  WHEN OTHERS THEN
    RAISE WARNING 'no pg_trgm or btree_gin in this PostgreSQL, message search reads every message: %', SQLERRM;
    RETURN;
  END;
  BEGIN
    EXECUTE format('{create}', tbl || {literal(TRIGRAM_SUFFIX)}, db, tbl);
  EXCEPTION WHEN unique_violation OR duplicate_table THEN
    NULL;
  END;
END
$trgm$;
"""


def build_trigram_sql(database: str) -> str:
    """A psql script (outside any transaction, as CREATE INDEX CONCURRENTLY must run) that builds the
    search index of a large messages collection while writes go on; prints `built` at the end."""
    extensions = "\n".join(f"CREATE EXTENSION IF NOT EXISTS {e} SCHEMA public;" for e in EXTENSIONS)
    return f"""\\set ON_ERROR_STOP 1
{extensions}
SELECT _jsonb->>'table' || {literal(TRIGRAM_SUFFIX)} AS idx, _jsonb->>'table' AS tbl
  FROM {identifier(database)}._ferretdb_database_metadata WHERE _jsonb->>'_id' = {literal(schema.MESSAGES)} \\gset
\\if :{{?tbl}}
SELECT EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(format('%I.%I', {literal(database)}, :'idx'))
               AND NOT indisvalid) AS invalid \\gset
\\if :invalid
DROP INDEX CONCURRENTLY {identifier(database)}.:"idx";
\\endif
SET maintenance_work_mem = '256MB';
{trigram_index_sql(':"idx"', identifier(database) + '.:"tbl"', concurrently=True)};
\\endif
\\echo built
"""
