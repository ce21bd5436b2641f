"""The store's contract: round trips that FerretDB (started by the fixtures) and the in-memory store
of the unit tier (simulator/store/memory.py) must both pass."""

import pytest
from bson import ObjectId

from simulator.core.agents import Agent
from simulator.core.conversation import Prepared, Usage
from simulator.core.experiment import LLMSetting
from simulator.protocols.roles import role_spec
from simulator.store import Message, Status, schema


pytestmark = pytest.mark.both_stores


async def test_indexes_include_unique_message_order(store):
    info = await store.db[schema.MESSAGES].index_information()
    unique = [v for v in info.values() if v.get("unique")]
    assert [list(v["key"]) for v in unique] == [[("conversation_id", 1), ("index", 1)]]


async def test_indexes_are_created_idempotently(store):
    before = await store.db[schema.MESSAGES].index_information()
    await schema.ensure_indexes(store.db)
    assert await store.db[schema.MESSAGES].index_information() == before


async def test_experiment_round_trip(store):
    doc = {"name": "prison", "starting_message": "Day one.", "creator": "alice",
           "roles": [{"name": "guard", "sections": []}]}
    experiment_id = await store.experiments.insert(doc)
    loaded = await store.experiments.get(experiment_id)
    assert loaded["name"] == "prison" and loaded["roles"][0]["name"] == "guard"
    assert loaded["created_at"].tzinfo is not None


async def test_conversation_status_and_usage(store):
    spec = role_spec(llm=LLMSetting("ollama/sim-tiny"), agent_counts={"guard": 1}, n_messages=3)
    prepared = Prepared(title="prison", agents=(Agent("Guard_101", "guard"),), prompts={"Guard_101": "You guard."})
    conversation_id = await store.conversations.create({**spec.to_document(), **prepared.to_document(),
                                                        "creator": "alice"})
    assert (await store.conversations.get(conversation_id)).status is Status.PENDING
    await store.conversations.start_run(conversation_id, runs=1)
    await store.conversations.finish(conversation_id, Status.FAILED, "model timed out", Usage(15, 5, 0.25), 2)
    loaded = await store.conversations.get(conversation_id)
    assert loaded.status is Status.FAILED and loaded.error == "model timed out" and loaded.runs == 1
    assert loaded.usage == Usage(prompt_tokens=15, completion_tokens=5, cost=0.25)
    assert loaded.timings["started_at"] <= loaded.timings["finished_at"]
    assert loaded.spec == spec and loaded.agents == prepared.agents and loaded.creator == "alice"


async def test_messages_come_back_in_index_order(store):
    conversation_id = ObjectId()
    for index in (2, 0, 1):
        assert await store.messages.append(
            Message(conversation_id, index=index, day=0, role="guard", speaker="Guard_1", content=f"m{index}"))
    listed = await store.messages.list(conversation_id)
    assert [m.content for m in listed] == ["m0", "m1", "m2"]
    assert listed[0].conversation_id == conversation_id


async def test_appending_the_same_turn_twice_keeps_one_message(store):
    conversation_id = ObjectId()
    first = Message(conversation_id, index=0, day=0, role="guard", speaker="Guard_1", content="first")
    retry = Message(conversation_id, index=0, day=0, role="guard", speaker="Guard_1", content="retry")
    assert await store.messages.append(first) is True
    assert await store.messages.append(retry) is False
    stored = await store.messages.list(conversation_id)
    assert [m.content for m in stored] == ["first"]


async def test_first_missing_index_is_where_resume_starts(store):
    conversation_id = ObjectId()
    assert await store.messages.first_missing_index(conversation_id) == 0
    for index in (0, 1, 2, 4):
        await store.messages.append(Message(conversation_id, index, 0, "guard", "Guard_1", "x"))
    assert await store.messages.first_missing_index(conversation_id) == 3
    assert await store.messages.count(conversation_id) == 4


async def test_messages_of_one_day(store):
    conversation_id = ObjectId()
    for index, day in enumerate([0, 0, 1]):
        await store.messages.append(Message(conversation_id, index, day, "guard", "Guard_1", f"d{day}"))
    assert [m.index for m in await store.messages.list(conversation_id, day=1)] == [2]


async def test_summary_is_replaced_not_duplicated(store):
    conversation_id = ObjectId()
    await store.summaries.save(conversation_id, day=0, content="draft")
    await store.summaries.save(conversation_id, day=0, content="final")
    await store.summaries.save(conversation_id, day=1, content="day two")
    summaries = await store.summaries.list(conversation_id)
    assert [(s["day"], s["content"]) for s in summaries] == [(0, "final"), (1, "day two")]
