"""scripts/copy_database.py: moving a database of the old SQLite store to FerretDB on PostgreSQL."""

import subprocess
import sys
import uuid

from bson import ObjectId

import services

from simulator.config import Settings
from simulator.store import connect, postgres_indexes, schema

COPY = str(services.SCRIPTS / "copy_database.py")


async def test_a_sqlite_database_moves_to_postgresql_with_ids_and_indexes(tools, private_state, mongodb_uri,
                                                                          postgres, cli_env):
    old_uri = services.start_ferretdb(tools, private_state, services.free_port(), "sqlite")
    name = f"test_{uuid.uuid4().hex[:12]}"
    old = await connect(Settings(mongodb_uri=old_uri, db_name=name, user="alice"))
    cid = ObjectId()
    await old.db[schema.EXPERIMENTS].insert_one({"name": "prison", "creator": "alice"})
    await old.db[schema.CONVERSATIONS].insert_one({"_id": cid, "status": "completed"})
    await old.db[schema.MESSAGES].insert_many([{"conversation_id": cid, "index": i, "content": f"m{i}"}
                                               for i in range(2500)])
    await old.db[schema.SUMMARIES].insert_one({"_id": f"{cid}:0", "conversation_id": cid, "day": 0})
    expected = {c: await old.db[c].find().sort("_id", 1).to_list() for c in await old.db.list_collection_names()}
    await old.close()

    result = subprocess.run([sys.executable, COPY, old_uri, mongodb_uri, "--db", name], capture_output=True,
                            text=True, timeout=300, env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "messages: 2500 documents" in result.stdout

    new = await connect(Settings(mongodb_uri=mongodb_uri, db_name=name, user="alice"))
    try:
        for collection, docs in expected.items():
            assert await new.db[collection].find().sort("_id", 1).to_list() == docs, collection
        assert [m["index"] for m in await new.db[schema.MESSAGES].find({"conversation_id": cid}).sort("index", 1)
                .to_list()] == list(range(2500))
        assert len(await new.db[schema.MESSAGES].index_information()) == 2  # _id and the unique (conversation, index)
        gin = postgres_cluster_gin(postgres, name)
        assert {f"messages_{i}" for i in ("_id", "conversation_id")} <= gin
    finally:
        await new.client.drop_database(name)
        await new.close()

    again = subprocess.run([sys.executable, COPY, old_uri, mongodb_uri, "--db", name, "--target-db", name],
                           capture_output=True, text=True, timeout=300, env=cli_env)
    assert again.returncode == 0, again.stderr  # dropped above, so the copy is allowed again


def test_copying_into_a_database_that_has_data_is_refused(mongodb_uri, cli_env, settings):
    import pymongo

    with pymongo.MongoClient(mongodb_uri) as client:
        client[settings.db_name][schema.MESSAGES].insert_one({"x": 1})
        result = subprocess.run([sys.executable, COPY, mongodb_uri, mongodb_uri, "--db", settings.db_name],
                                capture_output=True, text=True, timeout=120, env=cli_env)
        client.drop_database(settings.db_name)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: database {settings.db_name} at {mongodb_uri} already holds messages; "
        f"copy into another one with --target-db, or drop it first"]


def test_an_unreachable_source_is_one_line(mongodb_uri, cli_env):
    result = subprocess.run([sys.executable, COPY, "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500",
                             mongodb_uri], capture_output=True, text=True, timeout=120, env=cli_env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1:1" in lines[0] and "Traceback" not in result.stderr


def postgres_cluster_gin(postgres, database: str) -> set[str]:
    """GIN index names in `database`, with the tables' hash suffixes taken out (messages_<hash>_field_gin)."""
    import postgres_cluster

    names = postgres_cluster.psql(postgres, f"""SELECT indexname FROM pg_indexes
        WHERE schemaname = {postgres_indexes.literal(database)} AND indexdef LIKE '%USING gin%'""").split()
    return {"_".join(n.split("_")[:1] + n.split("_")[2:-1]) for n in names}
