"""A batch as a grid: one row per combination of its axes (model, days, agent counts, room ...),
one column per repeat, each cell with its status, messages, tokens and, while it runs, its holder.

Cells read as the runner's `cell_table` reads them (statuses, stalled runs, holders: so the page
and `batch status` agree), with message counts that stay cheap on a large database (`cells`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from bson import ObjectId

from simulator.actions.leasing import is_live, now
from simulator.batch.runner import CellRow, derive_status
from simulator.cli.batch_commands import cell_value
from simulator.core.batch import Batch
from simulator.core.conversation import Conversation
from simulator.store import Store
from simulator.web.rows import ENDED

REPEAT = "repeat"


@dataclass(frozen=True)
class GridCell:
    n: int
    conversation_id: ObjectId
    status: str
    messages: int
    n_messages: int | None
    tokens: int
    holder: str | None
    lease_age: float | None
    error: str | None


@dataclass(frozen=True)
class GridRow:
    labels: tuple[str, ...]  # the value of each row axis
    cells: tuple[GridCell | None, ...]  # one per repeat


@dataclass(frozen=True)
class Grid:
    axes: tuple[str, ...]  # the row axes, in the batch's nesting order
    repeats: int
    rows: tuple[GridRow, ...]
    status: str
    counts: Mapping[str, int]
    done: int
    total: int
    messages: int
    tokens: int


def grid(batch: Batch, rows: list[CellRow], tokens: Mapping[ObjectId, int]) -> Grid:
    axes = tuple(a for a in batch.axes if a != REPEAT and any(a in r.values for r in rows))
    repeats = 1 + max((int(r.values.get(REPEAT, 0)) for r in rows), default=0)
    lines: dict[tuple[str, ...], list[GridCell | None]] = {}
    labels: dict[tuple[str, ...], tuple[str, ...]] = {}
    for row in rows:
        key = tuple(repr(row.values.get(axis)) for axis in axes)  # two settings of one model are two rows
        labels.setdefault(key, tuple(cell_value(axis, row.values.get(axis), row) for axis in axes))
        line = lines.setdefault(key, [None] * repeats)
        line[int(row.values.get(REPEAT, 0))] = GridCell(
            n=row.n, conversation_id=row.conversation_id, status=row.status, messages=row.messages,
            n_messages=row.n_messages, tokens=tokens.get(row.conversation_id, 0), holder=row.holder,
            lease_age=row.lease_age, error=row.error)
    statuses = [r.status for r in rows]
    return Grid(axes=axes, repeats=repeats, rows=tuple(GridRow(labels[k], tuple(v)) for k, v in lines.items()),
                status=derive_status(statuses), counts=dict(Counter(statuses)),
                done=sum(s in ("completed", "failed") for s in statuses), total=len(rows),
                messages=sum(r.messages for r in rows), tokens=sum(tokens.values()))


async def cells(store: Store, batch_id: ObjectId) -> tuple[Batch, list[CellRow], dict[ObjectId, int]]:
    """The batch, each cell as `batch status` sees it, and each cell's tokens.

    The runner's `cell_table` counts messages with one `$group` over the whole messages collection,
    which FerretDB v1 answers by reading every message (seconds with 10^5 stored, and this runs every
    two seconds while a batch page is open). Here a cell that ended reports the count its run
    recorded, a cell never started has none, and only running cells are counted, each by equality
    on its id. Status, stalled runs and holders follow `cell_table` (simulator/batch/runner.py).
    """
    batch = await store.batches.get(batch_id)
    found = {c.id: c for c in await store.conversations.in_batch(batch_id)}
    recorded = await store.conversations.recorded_counts([c.id for c in found.values() if c.status.value in ENDED])
    leases = await store.leases.latest_for(list(found))
    at, rows, tokens = now(), [], {}
    for cell in batch.cells:
        conversation, lease = found.get(cell.conversation_id), leases.get(cell.conversation_id)
        live = is_live(lease, at)
        status = conversation.status.value if conversation else "missing"
        if status == "running" and not live:
            status = "stalled"
        messages, tokens[cell.conversation_id] = await progress(store, conversation, status, recorded)
        rows.append(CellRow(
            n=cell.n, values=dict(cell.values), conversation_id=cell.conversation_id, status=status,
            runs=max(conversation.runs if conversation else 0, lease.epoch if lease else 0), messages=messages,
            n_messages=conversation.spec.n_messages if conversation else None,
            model=" ".join(dict.fromkeys(l.model for l in conversation.spec.llms)) if conversation else "",
            error=conversation.error if conversation else None, holder=lease.owner if live else None,
            lease_age=(at - lease.claimed_at).total_seconds() if live else None))
    return batch, rows, tokens


async def progress(store: Store, conversation: Conversation | None, status: str,
                   recorded: Mapping[ObjectId, int]) -> tuple[int, int]:
    """(messages stored, tokens used) of one cell: as recorded when its run ended, else read now; a
    running conversation records its usage only when it ends, so its messages' usage is summed."""
    if conversation is None or status == "pending":
        return 0, 0
    if status in ENDED and conversation.id in recorded:
        return recorded[conversation.id], conversation.usage.total_tokens
    messages = await store.messages.list(conversation.id)
    used = sum(int(m.usage.get("prompt_tokens") or 0) + int(m.usage.get("completion_tokens") or 0) for m in messages)
    return len(messages), used or conversation.usage.total_tokens


async def load_grid(store: Store, batch_id: ObjectId) -> tuple[Batch, Grid]:
    batch, rows, tokens = await cells(store, batch_id)
    return batch, grid(batch, rows, tokens)
