"""Forks in the explorer: a conversation's fork tree, and two continuations side by side from where they part.

The columns are drawn with the transcript's own entries and `_entry.html`, so a message reads
the same here as on its conversation's page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bson import ObjectId
from bson.errors import InvalidId
from starlette.requests import Request
from starlette.responses import Response

from simulator.actions.forks import describe, fork_tree
from simulator.errors import NotFound
from simulator.web.pages.conversations import read_all
from simulator.web.params import path_id, store_of, text_param
from simulator.web.templating import page
from simulator.web.transcript import entries, legend


@dataclass(frozen=True)
class Row:
    """One line of the tree: a conversation, how deep it is, where it forked and what changed."""

    conversation_id: ObjectId
    depth: int
    at: int | None
    changes: str
    status: str
    here: bool


def tree_rows(node, here: ObjectId, depth: int = 0) -> list[Row]:
    lineage = node.conversation.forked_from or {}
    rows = [Row(node.conversation.id, depth, lineage.get("at"), describe(lineage.get("changes") or {})
                if lineage else "the source", node.conversation.status.value, node.conversation.id == here)]
    for child in node.children:
        rows += tree_rows(child, here, depth + 1)
    return rows


async def forks_page(request: Request) -> Response:
    cid = path_id(request)
    tree = await fork_tree(store_of(request), cid)
    rows = tree_rows(tree, cid)
    return page(request, "forks.html", root=tree.conversation, rows=rows, here=cid)


def query_id(request: Request, name: str) -> ObjectId:
    text = text_param(request, name, 40)
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{name}={text!r} is not a conversation id", "pick two conversations of a fork tree") from None


def parting(first: list, second: list) -> int:
    """The first message index where two conversations differ (their shared prefix ends)."""
    for index, (a, b) in enumerate(zip(first, second)):
        if (a.speaker, a.content) != (b.speaker, b.content):
            return index
    return min(len(first), len(second))


async def compare_page(request: Request) -> Response:
    store = store_of(request)
    (left, _), (right, _) = await asyncio.gather(read_all(store, query_id(request, "a")),
                                                 read_all(store, query_id(request, "b")))
    at = parting(left.messages, right.messages)
    columns = []
    for shown in (left, right):
        summaries = {s["day"]: s["content"] for s in shown.summaries}
        lineage = shown.conversation.forked_from or {}
        columns.append({"c": shown.conversation, "entries": entries(shown.conversation, shown.messages[at:],
                                                                    summaries=summaries),
                        "changes": describe(lineage.get("changes") or {}) if lineage else "the source"})
    shared = entries(left.conversation, left.messages[:at])
    return page(request, "fork_compare.html", columns=columns, at=at, shared=shared,
                legend=legend(left.conversation))
