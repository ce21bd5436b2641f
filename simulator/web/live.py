"""Live pages: server-sent events that carry what landed since the page was drawn.

FerretDB v1 has no change streams, so the server looks for news: a conversation's stream
every POLL seconds (its status, its message count, and the messages only when the count
moved), a batch's every BATCH_POLL seconds. News travel as HTML rendered by the same
templates as the page (escaped on the server) and the page's script inserts it where it
belongs, so the page never reloads. A conversation's stream ends when the run has ended, a
batch's when every cell has finished. Each event carries an id; the browser reconnects by
itself after a dropped connection, and the page skips a message or summary it already shows.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, AsyncIterator

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import StreamingResponse

from simulator.actions.browse import Transcript
from simulator.cli.render import section
from simulator.web.grid import load_grid
from simulator.web.params import store_of
from simulator.web.status import run_status
from simulator.web.templating import render
from simulator.web.transcript import entries

POLL = 1.0
BATCH_POLL = 2.0
LIVE_STATUSES = ("pending", "running", "stalled")  # a stalled run may be resumed


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    id: str | None = None

    def encode(self) -> bytes:
        head = f"id: {self.id}\n" if self.id is not None else ""
        return f"{head}event: {self.name}\ndata: {json.dumps(self.data)}\n\n".encode()


def stream(events: AsyncIterator[Event]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        async for event in events:
            yield event.encode()

    return StreamingResponse(body(), media_type="text/event-stream", headers={"x-accel-buffering": "no"})


def conversation_url(shown: Transcript) -> str | None:
    """The page's event stream while the run may still write; None once it has ended."""
    if shown.conversation.status.value not in LIVE_STATUSES:
        return None
    after = shown.messages[-1].index if shown.messages else -1
    days = ",".join(str(s["day"]) for s in shown.summaries)
    return f"/conversations/{shown.conversation.id}/events?after={after}&summaries={days}"


def _after(request: Request) -> int:
    """The last message the page shows (a reconnecting browser says it in Last-Event-ID)."""
    for text in (request.headers.get("last-event-id", ""), request.query_params.get("after", "")):
        if text.lstrip("-").isdigit():
            return int(text)
    return -1


async def conversation_stream(request: Request, conversation_id: ObjectId) -> StreamingResponse:
    store = store_of(request)
    shown_days = {int(d) for d in request.query_params.get("summaries", "").split(",") if d.isdigit()}
    return stream(_conversation_events(store, conversation_id, _after(request), shown_days))


async def _conversation_events(store, conversation_id: ObjectId, after: int,
                               shown_days: set[int]) -> AsyncIterator[Event]:
    known, status = None, None
    while True:
        conversation = await store.conversations.get(conversation_id)  # before the messages: none is missed
        count = await store.messages.count(conversation_id)
        if count != known:
            known = count
            messages = await store.messages.list(conversation_id, since=max(after, 0))  # the last shown, and the new
            previous = next((m for m in messages if m.index == after), None)
            opened = section(conversation, previous.day, previous.round) if previous else None
            for entry in entries(conversation, [m for m in messages if m.index > after], opened=opened):
                after = entry.index
                yield Event("message", {"index": entry.index, "html": render("_entry.html", e=entry)}, str(after))
        for summary in await store.summaries.list(conversation_id):
            if summary["day"] not in shown_days:
                shown_days.add(summary["day"])
                yield Event("summary", {"day": summary["day"], "html": render(
                    "_summary.html", day=summary["day"], content=summary["content"])}, str(after))
        if (seen := await run_status(store, conversation)) != status:
            status = seen
            yield Event("status", {"status": status, "ending": conversation.ending or ""}, str(after))
        if status not in LIVE_STATUSES:
            yield Event("end", {}, str(after))
            return
        await asyncio.sleep(POLL)


async def batch_stream(request: Request, batch_id: ObjectId) -> StreamingResponse:
    return stream(_batch_events(store_of(request), batch_id))


async def _batch_events(store, batch_id: ObjectId) -> AsyncIterator[Event]:
    drawn = None
    while True:
        batch, grid = await load_grid(store, batch_id)
        html = render("_grid.html", batch=batch, grid=grid)
        if html != drawn:
            drawn = html
            yield Event("grid", {"html": html, "status": grid.status, "done": grid.done, "total": grid.total})
        if grid.done == grid.total:
            yield Event("end", {})
            return
        await asyncio.sleep(BATCH_POLL)
