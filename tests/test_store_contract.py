"""The rest of the store's contract (tests/test_store.py has the first part): every repository's rules
that the runs rely on, passed alike by FerretDB and by the unit tier's in-memory store."""

from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from simulator.store import Message, schema
from simulator.store.labels import ADJUDICATOR, OutcomeLabel
from simulator.store.leases import LeaseRecord
from simulator.store.scores import MessageScore
from simulator.store.search import search_messages

pytestmark = pytest.mark.both_stores


async def test_scores_are_replaced_per_message_and_scorer_not_added(store):
    cid = ObjectId()
    await store.scores.save_many([MessageScore(cid, i, "classifier", {"toxicity": 0.1 * i}) for i in range(3)])
    assert await store.scores.save_many([MessageScore(cid, 1, "classifier", {"toxicity": 0.9}),
                                         MessageScore(cid, 1, "judge", {"toxicity": 0.5})]) == 2
    stored = await store.scores.for_conversation(cid)
    assert [(s.index, s.scorer, s.scores["toxicity"]) for s in stored if s.scorer == "classifier"] == \
        [(0, "classifier", 0.0), (1, "classifier", 0.9), (2, "classifier", 0.2)]
    assert [s.index for s in await store.scores.for_conversations([cid], scorer="judge")] == [1]
    assert await store.scores.delete_for([cid]) == 4 and await store.scores.for_conversation(cid) == []


async def test_a_blind_annotator_reads_only_their_own_labels_never_the_adjudication(store):
    cid = ObjectId()
    await store.labels.save_many([OutcomeLabel(cid, "alice", "person", "Yes", third=2),
                                  OutcomeLabel(cid, "bob", "person", "No"),
                                  OutcomeLabel(cid, "alice", ADJUDICATOR, "No")])
    await store.labels.save_many([OutcomeLabel(cid, "bob", "person", "NotTried")])  # bob changes his mind
    everything = await store.labels.for_conversations([cid])
    assert sorted((label.annotator, label.kind, label.goal_achieved) for label in everything) == [
        ("alice", ADJUDICATOR, "No"), ("alice", "person", "Yes"), ("bob", "person", "NotTried")]
    alice = await store.labels.for_conversations([cid], annotator="alice")
    assert [(label.kind, label.goal_achieved, label.third) for label in alice] == [("person", "Yes", 2)]


async def test_an_epoch_is_claimed_once_and_the_newest_lease_is_the_latest(store):
    cid, start = ObjectId(), datetime.now(timezone.utc)
    first = LeaseRecord(cid, 1, "host:1:a", "host", 1, "run-a", start, start + timedelta(seconds=30))
    assert await store.leases.claim(first) is True
    assert await store.leases.claim(LeaseRecord(cid, 1, "host:2:b", "host", 2, "run-b", start, start)) is False
    second = LeaseRecord(cid, 2, "host:2:b", "host", 2, "run-b", start, start + timedelta(seconds=30))
    assert await store.leases.claim(second)
    await store.leases.release(second)
    latest = await store.leases.latest(cid)
    assert (latest.epoch, latest.owner, latest.released) == (2, "host:2:b", True)
    assert (await store.leases.latest_for([cid, ObjectId()]))[cid].epoch == 2


async def test_a_model_call_recorded_twice_keeps_the_first_answer(store):
    await store.model_calls.put("k1", {"scope": "c1", "reply": "first"})
    await store.model_calls.put("k1", {"scope": "c1", "reply": "second"})
    await store.model_calls.put("k2", {"scope": "c1", "reply": "other"})
    assert (await store.model_calls.get("k1"))["reply"] == "first"
    assert sorted(c["key"] for c in await store.model_calls.for_scope("c1")) == ["k1", "k2"]
    assert await store.model_calls.get("missing") is None


async def test_a_stop_request_names_who_asked(store):
    batch_id = await store.batches.insert({"experiment_id": ObjectId(), "creator": "alice", "status": "running"})
    assert await store.batches.stop_requested(batch_id) is None
    await store.batches.request_stop(batch_id, "alice")
    assert await store.batches.stop_requested(batch_id) == "alice"


async def test_counts_per_experiment_and_the_creators_and_models_in_use(store):
    ours, theirs = ObjectId(), ObjectId()
    for experiment_id, creator, model in ((ours, "alice", "ollama/a"), (ours, "bob", "ollama/b"),
                                          (theirs, "alice", "ollama/a")):
        await store.db[schema.CONVERSATIONS].insert_one({"experiment_id": experiment_id, "creator": creator,
                                                         "llm": {"model": model}})
    assert await store.conversations.counts_by_experiment([ours, theirs, ObjectId()]) == {ours: 2, theirs: 1}
    assert await store.conversations.creators_and_models() == (["alice", "bob"], ["ollama/a", "ollama/b"])


async def test_search_finds_a_phrase_in_any_case_newest_first_within_a_role(store):
    cid = ObjectId()
    for index, (role, text) in enumerate([("guard", "The YARD is closed."), ("prisoner", "yard time, please"),
                                          ("guard", "back to the cells"), ("guard", "no yard time today")]):
        await store.messages.append(Message(cid, index, 0, role, f"{role}_1", text))
    found = await search_messages(store, "yard", conversation_ids=[cid], role="guard")
    assert [m.index for m in found.hits] == [3, 0] and not found.more
    everywhere = await search_messages(store, "YARD TIME", limit=1)
    assert [m.index for m in everywhere.hits] == [3] and everywhere.more


async def test_what_is_written_is_scrubbed_of_secrets_and_keeps_what_the_server_cannot_hold(store):
    cid = ObjectId()
    hostile = "NUL \x00, a lone surrogate \ud800 and the escape \uffff itself"
    await store.messages.append(Message(cid, 0, 0, "guard", "Guard_1", hostile,
                                        raw_content="error: Authorization: Bearer sk-abcdefghijklmnop1234"))
    [message] = await store.messages.list(cid)
    assert message.content == hostile
    assert "abcdefghijklmnop" not in message.raw_content and "***" in message.raw_content
