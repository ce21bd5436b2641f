"""Which of the store's queries use an index on FerretDB over PostgreSQL, and which scan.

Fills a private FerretDB on PostgreSQL with --messages messages (conversations of 20,
plus one batch of conversations, summaries and recorded calls), then asks FerretDB to
explain each filter the store sends (updates and deletes select their rows with the same
filter, so their find is explained). FerretDB's explain carries PostgreSQL's own plan; the
table shows its scan node and index, and whether FerretDB pushed the filter down at all.
Sorting always happens in FerretDB, after the filter.

    .venv/bin/python benchmarks/query_plans.py [--messages 20000]
"""

from __future__ import annotations

import argparse

from bson import ObjectId

from _support import bench_store, prefill_messages

from simulator import aio

# (what, where the store sends it, collection, filter); "hot" paths run per turn or per conversation.
QUERIES = [
    ("hot", "messages.list / count / first_missing_index (view, resume)", "messages", {"conversation_id": "C"}),
    ("hot", "messages.list of one day", "messages", {"conversation_id": "C", "day": 0}),
    ("hot", "messages.get (conversation, index)", "messages", {"conversation_id": "C", "index": 3}),
    ("hot", "message by _id (find, update)", "messages", {"_id": "M"}),
    ("hot", "summaries.list", "summaries", {"conversation_id": "C"}),
    ("hot", "summaries.save (upsert by _id)", "summaries", {"_id": "C:0"}),
    ("hot", "conversations.get / set_status / finish / add_usage", "conversations", {"_id": "C"}),
    ("hot", "batch runner: conversations of a batch", "conversations", {"batch_id": "B"}),
    ("hot", "model_calls.get / put (replay, recording)", "model_calls", {"_id": "K"}),
    ("hot", "leases of one conversation", "leases", {"conversation_id": "C"}),
    ("", "conversations of an experiment", "conversations", {"experiment_id": "E"}),
    ("", "conversations of a creator (--mine)", "conversations", {"creator": "bench"}),
    ("", "experiment by name", "experiments", {"name": "Small prison"}),
    ("", "model_calls.for_scope", "model_calls", {"scope": "S"}),
    ("", "all conversations, newest first (browse)", "conversations", {}),
    ("", "favourites (bool)", "conversations", {"favourite": True}),
    ("", "by model (nested field llm.model)", "conversations", {"llm.model": "ollama/sim-tiny"}),
    ("", "messages.delete_for ($in)", "messages", {"conversation_id": {"$in": ["C", "C"]}}),
    ("", "conversation counts per experiment ($in)", "conversations", {"experiment_id": {"$in": ["E"]}}),
    ("", "conversations.delete ($in on _id)", "conversations", {"_id": {"$in": ["C"]}}),
    ("", "a range ($gt)", "messages", {"conversation_id": "C", "index": {"$gt": 5}}),
    ("", "$or", "messages", {"$or": [{"conversation_id": "C"}, {"conversation_id": "C"}]}),
]


def fill(value, ids: dict):
    """Put real ids where the query table has placeholders."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return ids.get(value, value)


def scan_of(plan: dict) -> str:
    """The plan's leaf: `Bitmap Index Scan on idx`, `Seq Scan`..."""
    while plan.get("Plans"):
        plan = plan["Plans"][0]
    index = plan.get("Index Name")
    return f"{plan['Node Type']} on {index}" if index else plan["Node Type"]


async def main(n_messages: int) -> None:
    async with bench_store("postgresql") as (store, settings, experiment):
        _, conversations = await prefill_messages(store, n_messages, sample_every=97)
        batch = ObjectId()
        await store.db["conversations"].insert_many(
            [{"_id": c, "batch_id": batch, "experiment_id": experiment.id, "creator": "bench", "favourite": False,
              "llm": {"model": "ollama/sim-tiny"}} for c in conversations])
        await store.db["summaries"].insert_many([{"_id": f"{c}:0", "conversation_id": c, "day": 0}
                                                for c in conversations])
        one = await store.db["messages"].find_one({"conversation_id": conversations[1]})
        ids = {"C": conversations[1], "M": one["_id"], "C:0": f"{conversations[1]}:0", "B": batch,
               "E": experiment.id, "K": "k1", "S": "s1"}
        print(f"{store.server.describe()}; {n_messages:,} messages, {len(conversations)} conversations\n")
        print("| path | query | filter pushed to PostgreSQL | PostgreSQL scan |")
        print("| --- | --- | --- | --- |")
        for hot, what, collection, query in QUERIES:
            reply = await store.db.command("explain", {"find": collection, "filter": fill(query, ids)},
                                           verbosity="queryPlanner")
            pushed = "yes" if reply.get("filterPushdown") else "no"
            print(f"| {hot or 'other'} | {what} | {pushed} | {scan_of(reply['queryPlanner']['Plan'])} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    aio.run(main(parser.parse_args().messages))
