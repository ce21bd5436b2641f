"""Conversations: the filterable list, a transcript (with its protocol's own view where it has
one), the live updates of a running one, and its exports."""

from __future__ import annotations

import asyncio

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import Response

from simulator import protocols
from simulator.actions.browse import Filters, Transcript, filter_values, list_conversations, transcript
from simulator.cli.export import FORMATS, render_export
from simulator.errors import NotFound
from simulator.protocols import PROTOCOLS
from simulator.store import Store
from simulator.web import live
from simulator.web.chain import chain_view
from simulator.web.params import flag, path_id, store_of, text_param
from simulator.web.status import run_status
from simulator.web.templating import page
from simulator.web.transcript import entries, legend, scores_by_index, side_by_side

STATUSES = ("pending", "running", "completed", "failed", "stopped")
LIST_LIMIT = 500
MEDIA_TYPES = {"txt": "text/plain", "jsonl": "application/x-ndjson", "csv": "text/csv", "json": "application/json"}


async def conversations_list(request: Request) -> Response:
    store = store_of(request)
    filters = Filters(creator=text_param(request, "creator") or None, model=text_param(request, "model") or None,
                      favourite=True if flag(request, "favourites") else None)
    protocol, status = text_param(request, "protocol"), text_param(request, "status")
    rows = [r for r in await list_conversations(store, filters, limit=LIST_LIMIT)
            if (not protocol or r.protocol == protocol) and (not status or r.status == status)]
    creators, models = await filter_values(store, conversations=True)
    chosen = {"creator": filters.creator or "", "model": filters.model or "", "favourites": bool(filters.favourite),
              "protocol": protocol, "status": status}
    return page(request, "conversations.html", rows=rows, limit=LIST_LIMIT, creators=creators, models=models,
                protocols=PROTOCOLS, statuses=STATUSES, filters=chosen)


async def read_all(store: Store, conversation_id: ObjectId) -> tuple[Transcript, dict[int, dict[str, float]]]:
    """The conversation, its messages, summaries and scores, read at once: four queries in flight
    together cost about the slowest of them (the messages), not their sum."""
    conversation, messages, summaries, scores = await asyncio.gather(
        store.conversations.get(conversation_id), store.messages.list(conversation_id),
        store.summaries.list(conversation_id), store.scores.for_conversation(conversation_id))
    return Transcript(conversation, messages, summaries), scores_by_index(scores)


async def conversation_page(request: Request) -> Response:
    store = store_of(request)
    shown, scores = await read_all(store, path_id(request))
    context = await conversation_context(store, shown, scores, text_param(request, "view"))
    return page(request, "conversation.html", **context)


async def conversation_context(store: Store, shown: Transcript, scores: dict[int, dict[str, float]],
                               view: str = "") -> dict:
    """What conversation.html shows, for the explorer's page and for a published site (simulator/web/publish.py)."""
    conversation = shown.conversation
    summaries = {s["day"]: s["content"] for s in shown.summaries}
    listed = entries(conversation, shown.messages, summaries=summaries, scores=scores)
    protocol = conversation.spec.protocol
    view = view or {"backrooms": "side", "telephone": "chain"}.get(protocol, "linear")
    extra = {}
    if view == "side" and protocol == "backrooms":
        extra["rounds"] = side_by_side(listed, [a.name for a in conversation.agents])
    elif view == "chain" and protocol == "telephone":
        extra["chain"] = await asyncio.to_thread(chain_view, conversation, shown.messages)
    else:
        view = "linear"
    return dict(c=conversation, status=await run_status(store, conversation), entries=listed,
                legend=legend(conversation), protocol=protocols.get(protocol), view=view, formats=FORMATS,
                stream=live.conversation_url(shown), **extra)


async def conversation_events(request: Request) -> Response:
    return await live.conversation_stream(request, path_id(request))


async def conversation_export(request: Request) -> Response:
    fmt = request.path_params["format"]
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt!r}", f"formats: {', '.join(FORMATS)}")
    shown: Transcript = await transcript(store_of(request), path_id(request))
    name = f"conversation-{shown.conversation.id}.{fmt}"
    return Response(render_export(fmt, shown), media_type=f"{MEDIA_TYPES[fmt]}; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})
