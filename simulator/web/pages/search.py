"""Search across message text, narrowed by experiment, model, role and creator.

The conversations named by the filters are found first; the messages are then found by the same
function as `simulator search` (simulator/store/search.py: on the embedded store PostgreSQL's
trigram index, read-only; elsewhere `$text` or `$regex`), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import Response

from simulator.actions.browse import filter_values
from simulator.actions.experiments import list_experiments
from simulator.errors import NotFound
from simulator.store import Message, Store
from simulator.store.search import SearchResult, excerpt, search_messages
from simulator.web.params import query_id, store_of, text_param
from simulator.web.templating import page

LIMIT = 100


@dataclass(frozen=True)
class Hit:
    message: Message
    title: str
    parts: list[tuple[str, bool]]  # (text, is a match) around the first match


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


async def find_hits(request: Request, q: str, role: str) -> tuple[list[Hit], SearchResult]:
    store = store_of(request)
    found = await search_messages(store, q, conversation_ids=await conversation_scope(request), role=role or None,
                                  limit=LIMIT)
    titles = {cid: await title_of(store, cid) for cid in {m.conversation_id for m in found.hits}}
    return [Hit(m, titles[m.conversation_id], excerpt(m.content, q)) for m in found.hits], found


async def search_page(request: Request) -> Response:
    store = store_of(request)
    q, role = text_param(request, "q"), text_param(request, "role")
    hits, found = await find_hits(request, q, role) if q else ([], None)
    creators, models = await filter_values(store, conversations=True)
    experiments = [(d["_id"], d.get("name", "")) for d in await list_experiments(store)]
    filters = {name: text_param(request, name) for name in ("q", "role", "creator", "model", "experiment")}
    return page(request, "search.html", hits=hits, limit=LIMIT, found=found, creators=creators, models=models,
                experiments=experiments, filters=filters)
