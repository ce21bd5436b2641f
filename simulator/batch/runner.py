"""Running a batch: every unfinished cell, concurrently under one limit, resumable.

Completed cells are skipped; partial ones resume at their first missing message; a
failed cell is recorded and the others go on. Model calls share the per-endpoint
limits and one usage meter, so a batch-wide token budget can pause everything.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from bson import ObjectId

from simulator.actions import conversations
from simulator.core.batch import Batch
from simulator.config import Settings
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import Stop, StopCondition
from simulator.errors import SimulatorError
from simulator.llm.factory import ModelSettings
from simulator.llm.types import ChatModel
from simulator.logs import get_logger
from simulator.store import Status, Store

log = get_logger("batch")

DEFAULT_CONCURRENCY = 4  # matches OLLAMA_NUM_PARALLEL of the local server


class BatchTokenBudget(StopCondition):
    """Pause every conversation once the whole batch has used this many tokens."""

    def __init__(self, tokens: int, progress: "BatchProgress"):
        self.tokens, self.progress = tokens, progress

    def exhausted(self) -> bool:
        return self.progress.tokens >= self.tokens

    def check(self, state: ConversationState) -> Stop | None:
        if self.exhausted():
            return Stop(f"batch token budget reached ({self.progress.tokens} >= {self.tokens})", resumable=True)
        return None


@dataclass
class BatchProgress:
    """Live counters for the display; also the batch's observer of every turn."""

    total: int
    done: int = 0  # completed before or during this run
    failed: int = 0
    stopped: int = 0
    running: int = 0
    messages: int = 0  # stored during this run
    remaining_messages: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    meter_tokens: Callable[[], int] = lambda: 0

    def on_turn(self, turn: Turn, note: str | None) -> None:
        self.messages += 1
        self.remaining_messages = max(0, self.remaining_messages - 1)
        self.tokens = self.meter_tokens()

    def on_summary(self, day: int, content: str) -> None:
        self.tokens = self.meter_tokens()

    @property
    def messages_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.messages / elapsed if elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.messages_per_second
        return self.remaining_messages / rate if rate > 0 else None


@dataclass(frozen=True)
class BatchOutcome:
    batch_id: ObjectId
    status: str
    completed: int
    failed: int
    stopped: int
    total: int


async def run_batch(store: Store, settings: Settings, batch_id: ObjectId, model_settings: ModelSettings, *,
                    concurrency: int = DEFAULT_CONCURRENCY, token_budget: int | None = None,
                    progress: BatchProgress | None = None,
                    model_for: Callable[[ObjectId], ChatModel] | None = None) -> BatchOutcome:
    """Run every cell not yet completed; `model_for` swaps in scripted models for benchmarks."""
    if concurrency < 1:
        raise SimulatorError(f"concurrency must be at least 1, got {concurrency}")
    batch = await store.batches.get(batch_id)
    conversations_ = {c.id: c for c in await store.conversations.in_batch(batch_id)}
    cells = [c.conversation_id for c in batch.cells]
    todo = [cid for cid in cells if cid not in conversations_ or conversations_[cid].status is not Status.COMPLETED]
    progress = progress or BatchProgress(total=len(cells))
    progress.total, progress.done = len(cells), len(cells) - len(todo)
    progress.meter_tokens = lambda: model_settings.meter.total_tokens
    stored = await store.messages.counts(todo)
    progress.remaining_messages = sum(conversations_[cid].spec.n_messages - stored.get(cid, 0)
                                      for cid in todo if cid in conversations_)
    budget = token_budget if token_budget is not None else batch.token_budget
    stop = BatchTokenBudget(budget, progress) if budget else None
    await store.batches.set_status(batch_id, "running")
    queue: asyncio.Queue[ObjectId] = asyncio.Queue()
    for cid in todo:
        queue.put_nowait(cid)

    async def worker() -> None:
        while not queue.empty():
            if stop is not None and stop.exhausted():
                return
            cid = queue.get_nowait()
            progress.running += 1
            try:
                outcome = await conversations.run(store, settings, cid, model_settings, observer=progress,
                                                  model=model_for(cid) if model_for else None, extra_stop=stop)
                status = outcome.status
            except SimulatorError as exc:  # one bad cell never stops the batch
                log.warning("batch %s: conversation %s failed: %s", batch_id, cid, exc.one_line())
                status = Status.FAILED
            except Exception:  # a bug in one cell must not take the others down either
                log.exception("batch %s: conversation %s crashed", batch_id, cid)
                status = Status.FAILED
            finally:
                progress.running -= 1
            if status is Status.COMPLETED:
                progress.done += 1
            elif status is Status.FAILED:
                progress.failed += 1
            else:
                progress.stopped += 1

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, max(1, len(todo))))))
    except (asyncio.CancelledError, KeyboardInterrupt):
        await asyncio.shield(store.batches.set_status(batch_id, "stopped", "interrupted"))
        raise
    pending = progress.total - progress.done - progress.failed - progress.stopped
    if progress.done == progress.total:
        status = "completed"
    elif progress.stopped or pending:
        status = "stopped"
    else:
        status = "failed"
    note = f"token budget of {budget} reached" if stop is not None and stop.exhausted() else None
    await store.batches.set_status(batch_id, status, note)
    return BatchOutcome(batch_id, status, progress.done, progress.failed, progress.stopped, progress.total)


@dataclass(frozen=True)
class CellRow:
    """A cell of a batch with its conversation's state, for `batch status`."""

    n: int
    values: dict
    conversation_id: ObjectId
    status: str
    runs: int
    messages: int
    n_messages: int | None
    model: str
    error: str | None


async def cell_table(store: Store, batch_id: ObjectId) -> tuple[Batch, list[CellRow]]:
    """The batch and each cell with its conversation's status and stored message count."""
    batch = await store.batches.get(batch_id)
    found = {c.id: c for c in await store.conversations.in_batch(batch_id)}
    stored = await store.messages.counts(list(found))
    rows = []
    for cell in batch.cells:
        conversation = found.get(cell.conversation_id)
        rows.append(CellRow(
            n=cell.n, values=dict(cell.values), conversation_id=cell.conversation_id,
            status=conversation.status.value if conversation else "missing",
            runs=conversation.runs if conversation else 0, messages=stored.get(cell.conversation_id, 0),
            n_messages=conversation.spec.n_messages if conversation else None,
            model=" ".join(dict.fromkeys(l.model for l in conversation.spec.llms)) if conversation else "",
            error=conversation.error if conversation else None))
    return batch, rows
