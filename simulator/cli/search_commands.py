"""`simulator search TEXT [--experiment X] [--role R] [--limit N]`: messages containing a phrase.

The same search as the explorer's search page (simulator/store/search.py): any case, the phrase
taken literally, newest first, with the number of hits, the time taken and how it was found.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from simulator.actions.experiments import find as find_experiment
from simulator.cli.render import shown
from simulator.cli.values import whole
from simulator.config import Settings
from simulator.errors import NotFound, StoreError
from simulator.store import Store, connect
from simulator.store.search import MAX_LIMIT, SearchResult, build_index, excerpt, search_messages

LIMIT = whole(1, MAX_LIMIT)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("search", help="find messages containing a phrase (any case), newest first",
                            description="Find every message whose text contains TEXT, in any case, taken "
                                        "literally (punctuation and regex characters included), newest first.")
    p.add_argument("text", nargs="?", help="the phrase to find")
    p.add_argument("--experiment", help="only this experiment's conversations (id or name)")
    p.add_argument("--role", help="only messages spoken in this role")
    p.add_argument("--limit", type=LIMIT, default=20, help=f"hits shown at most (1 to {MAX_LIMIT}, default 20)")
    p.add_argument("--build-index", action="store_true",
                   help="build the embedded store's search index of a large database (once; writes go on)")
    p.set_defaults(handler=search_command)


async def search_command(args: argparse.Namespace, settings: Settings) -> int:
    async with await connect(settings) as store:
        if args.build_index:
            return await build(store)
        scope = None
        if args.experiment:
            experiment = await find_experiment(store, args.experiment)
            scope = [row.id for row in await store.conversations.rows(experiment_id=experiment.id)]
        found = await search_messages(store, args.text or "", conversation_ids=scope, role=args.role,
                                      limit=args.limit)
        await show(store, Console(highlight=False), found, args.text)
        if "without its trigram index" in found.engine:
            print("the search index is not built yet: `simulator search --build-index` builds it once "
                  "(minutes per 10^6 messages; writes go on)")
    return 0


async def show(store: Store, console: Console, found: SearchResult, text: str) -> None:
    titles: dict = {}
    for message in found.hits:
        if message.conversation_id not in titles:
            try:
                titles[message.conversation_id] = (await store.conversations.get(message.conversation_id)).title
            except NotFound:
                titles[message.conversation_id] = "(conversation not found)"
        console.print(f"[bold]{shown(titles[message.conversation_id])}[/] {message.conversation_id} "
                      f"#{message.index}  {shown(message.speaker)} ({shown(message.role)})")
        parts = "".join(f"[reverse]{shown(part)}[/]" if hit else shown(part)
                        for part, hit in excerpt(message.content, text, context=80))
        console.print("    " + parts.replace("\n", " "))
    count = f"more than {len(found.hits)} hits, the newest {len(found.hits)} shown" if found.more \
        else f"{len(found.hits)} hit{'s' * (len(found.hits) != 1)}"
    console.print(f"{count} in {found.seconds * 1000:.0f} ms ({found.engine})")


async def build(store: Store) -> int:
    started = time.perf_counter()
    print("building the search index (CREATE INDEX CONCURRENTLY: writes go on meanwhile)...", flush=True)
    problem = await build_index(store)
    if problem:
        raise StoreError(f"search index not built: {problem}")
    print(f"search index ready in {time.perf_counter() - started:.0f} s")
    return 0
