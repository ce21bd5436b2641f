"""A stored batch as the layers above the store see it: its grid and its cells, typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from bson import ObjectId

CELL_KEYS = ("n", "conversation_id")


@dataclass(frozen=True)
class BatchCell:
    n: int
    conversation_id: ObjectId
    values: Mapping[str, Any]  # the value of every axis of the sweep for this cell (repeat, llm, days, ...)


@dataclass(frozen=True)
class Batch:
    id: ObjectId
    protocol: str
    title: str
    creator: str
    status: str
    cells: tuple[BatchCell, ...]
    grid: Mapping[str, Any] = field(default_factory=dict)  # the sweep as it was asked for
    experiment_id: ObjectId | None = None
    note: str | None = None
    created_at: datetime | None = None
    stop_requested: str | None = None  # who asked for it to stop (`batch stop`); runners stop their cells

    @property
    def token_budget(self) -> int | None:
        return self.grid.get("token_budget")

    @property
    def axes(self) -> list[str]:
        """Axis names in the order cells nest (batches before protocols: repeat, llm, days, agent_counts)."""
        return list(self.grid.get("axes") or ("repeat", "llm", "days", "agent_counts"))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Batch":
        cells = tuple(BatchCell(c["n"], c["conversation_id"], {k: v for k, v in c.items() if k not in CELL_KEYS})
                      for c in doc.get("cells", []))
        return cls(id=doc["_id"], protocol=doc.get("protocol") or "roles", title=doc.get("experiment_name", ""),
                   creator=doc.get("creator", ""), status=doc.get("status", "?"), cells=cells,
                   grid=doc.get("grid") or {}, experiment_id=doc.get("experiment_id"), note=doc.get("note"),
                   created_at=doc.get("created_at"), stop_requested=doc.get("stop_requested"))
