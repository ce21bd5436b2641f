"""The embedded store on FerretDB over PostgreSQL: GIN indexes that PostgreSQL really uses,
backend detection, and what a run does when PostgreSQL or FerretDB is killed.

The plans are read with psql straight from the cluster, not through FerretDB.
"""

import json
import uuid

from bson import ObjectId

import postgres_cluster
import services

from simulator.config import Settings
from simulator.store import POSTGRESQL_WRITERS, Message, connect, postgres_indexes, schema


def table_of(postgres, database: str, collection: str) -> str:
    """The PostgreSQL table FerretDB keeps `collection` in (from its metadata table)."""
    return postgres_cluster.psql(postgres, f"""
        SELECT _jsonb->>'table' FROM "{database}"._ferretdb_database_metadata
        WHERE _jsonb->>'_id' = {postgres_indexes.literal(collection)}""").strip()


def plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def explain(postgres, database: str, table: str, field: str, value_json: str, mode: str) -> list[dict]:
    """EXPLAIN the statement FerretDB prepares for a top-level equality (`_jsonb->$1 @> $2`)."""
    out = postgres_cluster.psql(postgres, f"""
        SET plan_cache_mode = {mode};
        PREPARE q(text, jsonb) AS SELECT _jsonb FROM "{database}"."{table}" WHERE _jsonb->$1 @> $2;
        EXPLAIN (FORMAT JSON) EXECUTE q({postgres_indexes.literal(field)}, {postgres_indexes.literal(value_json)});""")
    return plan_nodes(json.loads(out)[0]["Plan"])


async def fill_messages(store, conversations: int, per_conversation: int) -> list[ObjectId]:
    ids = [ObjectId() for _ in range(conversations)]
    docs = [Message(cid, index, 0, "guard", "Guard_1", "x" * 200).document()
            for cid in ids for index in range(per_conversation)]
    await store.db[schema.MESSAGES].insert_many(docs)
    return ids


async def test_listing_a_conversations_messages_uses_the_gin_index(store, settings, postgres):
    ids = await fill_messages(store, conversations=300, per_conversation=10)
    assert [m.index for m in await store.messages.list(ids[7])] == list(range(10))
    table = table_of(postgres, settings.db_name, schema.MESSAGES)
    postgres_cluster.psql(postgres, f'ANALYZE "{settings.db_name}"."{table}"')  # as autovacuum would

    nodes = explain(postgres, settings.db_name, table, "conversation_id", f'"{ids[7]}"', "force_custom_plan")
    used = {n.get("Index Name") for n in nodes if "Index" in n["Node Type"]}
    assert postgres_indexes.index_name(table, "conversation_id") in used, nodes
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes)

    # Why the cluster runs with force_custom_plan: a generic plan cannot match `_jsonb->$1` to the index.
    generic = explain(postgres, settings.db_name, table, "conversation_id", f'"{ids[7]}"', "force_generic_plan")
    assert any(n["Node Type"] == "Seq Scan" for n in generic)
    assert postgres_cluster.psql(postgres, "SHOW plan_cache_mode").strip() == "force_custom_plan"


async def test_finding_a_message_by_id_uses_the_gin_index(store, settings, postgres):
    await fill_messages(store, conversations=300, per_conversation=10)
    one = await store.db[schema.MESSAGES].find_one({"index": 3})
    assert await store.db[schema.MESSAGES].find_one({"_id": one["_id"]}) == one
    table = table_of(postgres, settings.db_name, schema.MESSAGES)
    postgres_cluster.psql(postgres, f'ANALYZE "{settings.db_name}"."{table}"')
    nodes = explain(postgres, settings.db_name, table, "_id", f'"{one["_id"]}"', "force_custom_plan")
    assert postgres_indexes.index_name(table, "_id") in {n.get("Index Name") for n in nodes}, nodes


async def test_every_hot_field_has_its_gin_index(store, settings, postgres):
    rows = postgres_cluster.psql(postgres, f"""
        SELECT indexname FROM pg_indexes WHERE schemaname = {postgres_indexes.literal(settings.db_name)}
        AND indexdef LIKE '%USING gin%'""").split()
    expected = {postgres_indexes.index_name(table_of(postgres, settings.db_name, collection), field)
                for collection, fields in postgres_indexes.HOT_FIELDS.items() for field in fields}
    expected.add(table_of(postgres, settings.db_name, schema.MESSAGES) + postgres_indexes.TRIGRAM_SUFFIX)  # search
    assert set(rows) == expected


async def test_the_gin_step_is_idempotent(store, settings, postgres):
    def gin_indexes() -> str:
        return postgres_cluster.psql(postgres, f"""
            SELECT indexname, indexrelid::regclass::oid FROM pg_indexes i
            JOIN pg_index x ON x.indexrelid = format('%I.%I', i.schemaname, i.indexname)::regclass
            WHERE schemaname = {postgres_indexes.literal(settings.db_name)} ORDER BY 1""")

    before, ferret_view = gin_indexes(), await store.db[schema.MESSAGES].index_information()
    assert await postgres_indexes.ensure(store.db, store.server) is True
    again = await connect(settings)  # a second process connecting to the same database
    await again.close()
    assert gin_indexes() == before  # same indexes, same oids: nothing dropped or rebuilt
    assert await store.db[schema.MESSAGES].index_information() == ferret_view  # FerretDB's own list untouched


async def test_store_knows_it_runs_on_postgresql_and_lifts_the_one_writer_gate(store):
    assert store.server.flavour == "FerretDB v1.24.2"
    assert store.server.backend.startswith("PostgreSQL 15")
    assert "on PostgreSQL 15" in store.server.describe()
    assert store.write_gate._value == POSTGRESQL_WRITERS


async def test_on_the_sqlite_backend_the_gin_step_does_nothing_and_writes_stay_one_at_a_time(tools, private_state):
    uri = services.start_ferretdb(tools, private_state, services.free_port(), "sqlite")
    settings = Settings(mongodb_uri=uri, db_name=f"test_{uuid.uuid4().hex[:12]}", user="alice")
    store = await connect(settings)
    try:
        assert store.server.backend.startswith("SQLite")
        assert store.write_gate._value == 1
        assert await postgres_indexes.ensure(store.db, store.server) is False
        assert schema.MODEL_CALLS not in await store.db.list_collection_names()  # not even collections made
        cid = ObjectId()
        await store.messages.append(Message(cid, 0, 0, "guard", "Guard_1", "hello"))
        assert [m.content for m in await store.messages.list(cid)] == ["hello"]
    finally:
        await store.close()
