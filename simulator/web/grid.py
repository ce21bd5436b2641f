"""A batch as a grid: one row per combination of its axes (model, days, agent counts, room ...),
one column per repeat, each cell with its status, messages, tokens and, while it runs, its holder.

Cells are the runner's `cell_table` (statuses, stalled runs, holders, counts that stay cheap on a
large database), so the page and `batch status` agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from bson import ObjectId

from simulator.batch.runner import CellRow, batch_state, cell_table, cell_value
from simulator.core.batch import Batch
from simulator.store import Store

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


def grid(batch: Batch, rows: list[CellRow]) -> Grid:
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
            n_messages=row.n_messages, tokens=row.tokens, holder=row.holder,
            lease_age=row.lease_age, error=row.error)
    statuses = [r.status for r in rows]
    return Grid(axes=axes, repeats=repeats, rows=tuple(GridRow(labels[k], tuple(v)) for k, v in lines.items()),
                status=batch_state(batch, statuses), counts=dict(Counter(statuses)),
                done=sum(s in ("completed", "failed") for s in statuses), total=len(rows),
                messages=sum(r.messages for r in rows), tokens=sum(r.tokens for r in rows))


async def load_grid(store: Store, batch_id: ObjectId) -> tuple[Batch, Grid]:
    batch, rows = await cell_table(store, batch_id)
    return batch, grid(batch, rows)
