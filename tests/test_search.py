"""Message search (simulator/store/search.py): PostgreSQL's trigram index finds exactly what FerretDB's
`$regex` finds, newest first, a message as soon as it is stored; `simulator search` as typed."""

from __future__ import annotations

import subprocess
import sys

import postgres_cluster
from bson import ObjectId

from simulator.store import Message, postgres_indexes
from simulator.store.casefold import fold_set
from simulator.store.messages import literal_pattern
from simulator.store.search import _on_mongodb, _on_postgres, search_messages

CORPUS = [
    "The Yard is cold.", "the yard IS COLD!", "a.b (c) [d] {e} ^f$ g|h? i* j+ \\k", "100% sure_thing",
    "Café au lait", "CAFÉ AU LAIT", "cafe without accent", "Straße", "STRASSE", "GROẞE Straße",
    "Kelvin: \u212a is its sign", "kelvin", "\u017ftop, long s", "STOP", "ΣΊΣΥΦΟΣ σίσυφος", "final ς here",
    "Iı İi", "emoji 🎉 party", "日本語のテキスト", "line one\nline two", "quote ' and \" and \\ backslash",
    "'; DROP TABLE x; --", "tab\there", "µ micro and μ mu", "Ǆ Ǆ ǅ ǆ", "nul\x00byte",
]
QUERIES = [
    "the yard", "YARD IS", "a.b (c)", "[d]", "{e}", "^f$", "g|h?", "i*", "j+", "\\k", "100%", "_thing", "café",
    "CAFÉ", "É", "straße", "ß", "ẞ", "STRASSE", "k", "K", "\u212a", "s", "\u017f", "σ", "Σ", "ς", "ı", "i", "I",
    "İ", "🎉", "日本", "one\nline", "'", "\"", "\\", "; DROP", "\t", "μ", "ǅ", "\x00", "zzz not there", "e", "%",
]


async def store_corpus(store) -> list[ObjectId]:
    conversations = [ObjectId() for _ in range(3)]
    for number, text in enumerate(CORPUS):
        role = ("guard", "prisoner")[number % 2]
        await store.messages.append(Message(conversations[number % 3], number, 0, role, f"{role}_{number}", text))
    return conversations


async def by_regex(store, text: str, **scope) -> list[tuple]:
    """FerretDB's own answer: the `$regex` every path must agree with, newest first."""
    query = {"content": {"$regex": literal_pattern(text), "$options": "i"}, **scope}
    docs = await store.messages.collection.find(query).sort("_id", -1).to_list()
    return [(d["conversation_id"], d["index"]) for d in docs]


def keys(messages: list[Message]) -> list[tuple]:
    return [(m.conversation_id, m.index) for m in messages]


async def test_the_trigram_index_finds_what_regex_finds(store):
    await store_corpus(store)
    for text in QUERIES:
        found = await search_messages(store, text, limit=1000)
        assert found.engine == "PostgreSQL trigram index", found.engine
        assert keys(found.hits) == await by_regex(store, text), repr(text)
        fallback, _engine = await _on_mongodb(store, text, None, None, 1000)
        assert keys(fallback) == keys(found.hits), repr(text)
        indexed, _engine = await _on_postgres(store, text, None, None, 1000, walk=1)  # through the index itself
        assert keys(indexed) == keys(found.hits), repr(text)
    assert len((await search_messages(store, "k", limit=1000)).hits) >= 3  # k, K and the Kelvin sign
    assert (await search_messages(store, "\x00", limit=5)).hits[0].content == "nul\x00byte"


async def test_newest_first_limits_scopes_and_at_once(store):
    conversations = await store_corpus(store)
    for number in range(30):
        await store.messages.append(Message(conversations[0], 100 + number, 0, "guard", "Guard_1",
                                            f"by the GATE {number}"))
    found = await search_messages(store, "gate", limit=5)
    assert [m.index for m in found.hits] == [129, 128, 127, 126, 125] and found.more
    assert keys(found.hits) == (await by_regex(store, "gate"))[:5]
    everything = await search_messages(store, "gate", limit=30)
    assert len(everything.hits) == 30 and not everything.more
    assert (await search_messages(store, "yard", conversation_ids=[conversations[2]])).hits == []
    assert [m.index for m in (await search_messages(store, "yard", conversation_ids=[conversations[1]])).hits] == [1]
    assert [m.index for m in (await search_messages(store, "yard", role="guard")).hits] == [0]
    assert (await search_messages(store, "yard", conversation_ids=[])).hits == []
    await store.messages.append(Message(conversations[2], 500, 0, "guard", "Guard_1", "a brand-new Zyzzyva"))
    newest = await search_messages(store, "zyzzyva")
    assert [m.index for m in newest.hits] == [500] and newest.engine == "PostgreSQL trigram index"


async def test_the_index_finds_the_newest_however_messages_arrived(store, settings, postgres):
    """Messages stored over ten hours: the index looks in the recent window first (its size estimated
    from the walk) and in all of them when the window holds too few; the newest are found either way."""
    start = 1_700_000_000
    spread = [start + 600 * n for n in range(60)]  # evenly, one every ten minutes
    burst = [start] * 57 + [start + 36_000] * 3  # all at once, then three ten hours later
    for number, (name, seconds) in enumerate((("even", spread), ("burst", burst))):
        cid = ObjectId()
        docs = [{"_id": ObjectId(f"{t:08x}{number:08x}{n:08x}"), "conversation_id": cid, "index": n, "day": 0,
                 "role": "guard", "speaker": name, "content": f"{name} by the gate {n}"} for n, t in enumerate(seconds)]
        await store.messages.collection.insert_many(docs)
        postgres_cluster.psql(postgres, f'ANALYZE "{settings.db_name}"."{messages_table(postgres, settings)}"')
        for walk in (1, 4, 1000):  # 1: 120 matches expected, a window of 15% of the time; 1000: the walk alone
            found, _engine = await _on_postgres(store, name + " by the GATE", None, None, 5, walk=walk)
            assert keys(found) == (await by_regex(store, name + " by the gate"))[:6], (name, walk)


def test_fold_sets_are_go_orbits():
    assert fold_set("k") == {"k", "K", "\u212a"} and fold_set("ß") == {"ß", "ẞ"}
    assert fold_set("σ") == {"σ", "Σ", "ς"}
    assert fold_set("ı") == {"ı"} and fold_set("i") == {"i", "I"} and fold_set("İ") == {"İ"}
    assert fold_set("é") == {"é", "É"} and fold_set("日") == {"日"} and fold_set("%") == {"%"}


def messages_table(postgres, settings) -> str:
    return postgres_cluster.psql(postgres, f"""SELECT _jsonb->>'table'
        FROM "{settings.db_name}"._ferretdb_database_metadata WHERE _jsonb->>'_id' = 'messages'""").strip()


def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", "search", *args], env=env, capture_output=True,
                          text=True, timeout=120)


async def test_the_command_and_a_database_without_the_index(store, settings, cli_env, postgres):
    await store_corpus(store)
    done = run_cli(cli_env, "the YARD", "--limit", "1")
    assert done.returncode == 0, done.stderr
    assert "more than 1 hits, the newest 1 shown in" in done.stdout and "(PostgreSQL trigram index)" in done.stdout
    assert "the yard IS COLD!" in done.stdout and "#1" in done.stdout

    for bad, says in ((("",), "nothing to search for"), (("x", "--limit", "0"), "--limit"),
                      (("x", "--experiment", "nope"), "no experiment 'nope'")):
        failed = run_cli(cli_env, *bad)
        assert failed.returncode != 0 and says in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr

    filler = [{"conversation_id": ObjectId(), "index": i, "content": f"filler {i}"}
              for i in range(postgres_indexes.TRIGRAM_AT_CONNECT)]
    await store.messages.collection.insert_many(filler)  # too many to index while a command connects
    table = messages_table(postgres, settings)
    postgres_cluster.psql(postgres, f'DROP INDEX "{settings.db_name}"."{table}{postgres_indexes.TRIGRAM_SUFFIX}"')
    slow = run_cli(cli_env, "café")
    assert slow.returncode == 0 and "2 hits" in slow.stdout and "without its trigram index" in slow.stdout
    assert "--build-index" in slow.stdout
    built = run_cli(cli_env, "--build-index")
    assert built.returncode == 0 and "search index ready" in built.stdout, built.stderr
    assert "(PostgreSQL trigram index)" in run_cli(cli_env, "café").stdout
