"""Search across message text, narrowed by experiment, model, role and creator.

The conversations named by the filters are found first; the messages are then matched by an
escaped, case-insensitive regular expression (simulator/store/messages.py: FerretDB v1 has no
text index, so every message of those conversations is read on the server; README, Benchmarks).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import Response

from simulator.actions.browse import filter_values
from simulator.actions.experiments import list_experiments
from simulator.errors import NotFound
from simulator.store import Message, Store
from simulator.web.params import query_id, store_of, text_param
from simulator.web.templating import page

LIMIT = 100
CONTEXT = 120  # characters shown around the first match


@dataclass(frozen=True)
class Hit:
    message: Message
    title: str
    parts: list[tuple[str, bool]]  # (text, is a match) around the first match


def excerpt(content: str, words: str) -> list[tuple[str, bool]]:
    """The text around the first match, split into plain and matching parts."""
    pattern = re.compile(re.escape(words), re.IGNORECASE)
    first = pattern.search(content)
    start = max(0, first.start() - CONTEXT) if first else 0
    end = min(len(content), (first.end() if first else 0) + CONTEXT)
    window, parts, at = content[start:end], [], 0
    for found in pattern.finditer(window):
        parts += [(window[at:found.start()], False), (found.group(0), True)]
        at = found.end()
    parts.append((window[at:], False))
    return [("…", False)] * (start > 0) + [p for p in parts if p[0]] + [("…", False)] * (end < len(content))


async def conversation_scope(request: Request) -> list[ObjectId] | None:
    """The conversations the filters allow; None when no filter narrows them."""
    experiment_id = query_id(request, "experiment")
    creator, model = text_param(request, "creator") or None, text_param(request, "model") or None
    if experiment_id is None and creator is None and model is None:
        return None
    rows = await store_of(request).conversations.rows(creator=creator, model=model, experiment_id=experiment_id)
    return [r.id for r in rows]


async def title_of(store: Store, conversation_id: ObjectId) -> str:
    try:
        return (await store.conversations.get(conversation_id)).title
    except NotFound:  # messages whose conversation was deleted half way
        return "(conversation not found)"


async def find_hits(request: Request, q: str, role: str) -> list[Hit]:
    store = store_of(request)
    scope = await conversation_scope(request)
    if scope == []:  # the filters name no conversation
        return []
    found = await store.messages.search(q, conversation_ids=scope, role=role or None, limit=LIMIT)
    titles = {cid: await title_of(store, cid) for cid in {m.conversation_id for m in found}}
    return [Hit(m, titles[m.conversation_id], excerpt(m.content, q)) for m in found]


async def search_page(request: Request) -> Response:
    store = store_of(request)
    q, role = text_param(request, "q"), text_param(request, "role")
    started = time.perf_counter()
    hits = await find_hits(request, q, role) if q else []
    seconds = time.perf_counter() - started
    creators, models = await filter_values(store, conversations=True)
    experiments = [(d["_id"], d.get("name", "")) for d in await list_experiments(store)]
    filters = {name: text_param(request, name) for name in ("q", "role", "creator", "model", "experiment")}
    return page(request, "search.html", hits=hits, limit=LIMIT, seconds=seconds, creators=creators, models=models,
                experiments=experiments, filters=filters)
