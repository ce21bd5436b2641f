"""Running a batch: every unfinished cell, concurrently under one limit, resumable.

Completed cells are skipped; partial ones resume at their first missing message; a
failed cell is recorded and the others go on. Model calls share the per-endpoint
limits and one usage meter, so a batch-wide token budget can pause everything.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from bson import ObjectId

from simulator.actions import conversations
from simulator.actions.leasing import LeaseHeld, is_live, new_owner, now
from simulator.core.batch import Batch
from simulator.core.conversation import ENDED, Conversation
from simulator.config import Settings
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import Stop, StopCondition
from simulator.errors import SimulatorError, ValidationError
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


class StopRequest(StopCondition):
    """`batch stop` as the runners see it: a flag on the batch document, read every STOP_POLL seconds, so
    every runner (local processes, Ray actors, other machines) stops its cells resumably."""

    def __init__(self) -> None:
        self.by: str | None = None

    def check(self, state: ConversationState) -> Stop | None:
        return Stop(f"stopped by {self.by} (batch stop)", resumable=True) if self.by else None

    async def watch(self, store: Store, batch_id: ObjectId) -> None:
        while True:
            try:
                self.by = await store.batches.stop_requested(batch_id)
            except SimulatorError as exc:  # a missed look only delays the stop
                log.warning("batch %s: could not read its stop request: %s", batch_id, exc.one_line())
            await asyncio.sleep(STOP_POLL)


STOP_POLL = 1.0


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
    calls: int = 0  # model calls answered during this run (messages and summaries)
    started: float = field(default_factory=time.monotonic)
    meter_tokens: Callable[[], int] = lambda: 0

    def on_turn(self, turn: Turn, note: str | None) -> None:
        self.messages += 1
        self.calls += 1
        self.remaining_messages = max(0, self.remaining_messages - 1)
        self.tokens = self.meter_tokens()

    def on_summary(self, day: int, content: str) -> None:
        self.calls += 1
        self.tokens = self.meter_tokens()

    def cell_started(self) -> None:
        self.running += 1

    def cell_finished(self, status: Status | None, elsewhere: bool = False) -> None:
        """A cell ended with this status (`elsewhere`: another runner completed it); None: another runner
        held it or had tried it."""
        self.running -= 1
        if status is Status.COMPLETED:
            self.done += 1
        elif status is Status.FAILED:
            self.failed += 1
        elif status is not None:
            self.stopped += 1

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
    note: str | None = None  # why it paused, when it did


HELD_POLL = 0.5  # seconds between looks at cells another runner holds
PAUSE_AFTER = 3  # cells failed in a row because a model server did not answer: the batch pauses


def derive_status(statuses: list[str], held: int = 0) -> str:
    """A batch's status from its cells' (never from whichever runner finished last)."""
    if statuses and all(s == Status.COMPLETED.value for s in statuses):
        return "completed"
    if held or any(s == Status.RUNNING.value for s in statuses):
        return "running"
    if any(s in (Status.PENDING.value, Status.STOPPED.value, "stalled") for s in statuses):
        return "stopped"
    return "failed"


def batch_state(batch: Batch, statuses: list[str]) -> str:
    """The one reading of a batch's state, for the CLI, the menus and the explorer alike: from its cells
    as stored (a cell whose conversation was deleted is left out; all deleted reads `deleted`), and
    `stopping` while a `batch stop` stands over cells still running."""
    present = [s for s in statuses if s != "missing"]
    if not present:
        return "deleted" if statuses else "completed"
    state = derive_status(present)
    return "stopping" if batch.stop_requested and state == "running" else state


async def batches_with_state(store: Store, **filters) -> list[tuple[Batch, str]]:
    """Batches newest first (`filters` as BatchRepository.list takes them), each with batch_state from its cells
    as stored now: what `batch list`, the menus and the explorer's list show alike."""
    listed = []
    for batch in await store.batches.list(**filters):
        found = await store.conversations.statuses_in_batch(batch.id)
        listed.append((batch, batch_state(batch, [found.get(c.conversation_id, "missing") for c in batch.cells])))
    return listed


async def run_batch(store: Store, settings: Settings, batch_id: ObjectId, model_settings: ModelSettings, *,
                    concurrency: int = DEFAULT_CONCURRENCY, token_budget: int | None = None,
                    progress: BatchProgress | None = None,
                    model_for: Callable[[ObjectId], ChatModel] | None = None,
                    run_id: str | None = None, owner: str | None = None) -> BatchOutcome:
    """Run every cell not yet completed; `model_for` swaps in scripted models for benchmarks.

    Cells are leased one by one, so any number of runners (other processes, machines) can
    share a batch: a cell another live runner holds is looked at again until it is finished
    or its lease runs out (a crashed runner), then taken over. Runners started together share
    `run_id`, and a cell one of them already tried in this run (failed, stopped) is not
    tried again by another.
    """
    if concurrency < 1:
        raise SimulatorError(f"concurrency must be at least 1, got {concurrency}")
    run_id, owner = run_id or uuid.uuid4().hex, owner or new_owner()
    batch = await store.batches.get(batch_id)
    found = {c.id: c for c in await store.conversations.in_batch(batch_id)}
    cells = [c.conversation_id for c in batch.cells]
    todo = [cid for cid in cells if cid not in found or found[cid].status is not Status.COMPLETED]
    progress = progress or BatchProgress(total=len(cells))
    progress.total, progress.done = len(cells), len(cells) - len(todo)
    progress.meter_tokens = lambda: model_settings.meter.total_tokens
    unfinished = [found[cid] for cid in todo if cid in found]
    recorded = await store.conversations.recorded_counts([c.id for c in unfinished if c.status.value in ENDED])
    stored = [(await _progress(store, c, recorded))[0] for c in unfinished]
    progress.remaining_messages = sum(c.spec.n_messages for c in unfinished) - sum(stored)
    budget = token_budget if token_budget is not None else batch.token_budget
    stop = BatchTokenBudget(budget, progress) if budget else None
    request = StopRequest()
    request.by = batch.stop_requested
    stops = request if stop is None else stop | request
    if request.by:
        return await _conclude(store, batch_id, progress, stop, budget, f"stopped by {request.by}")
    await store.batches.set_status(batch_id, "running")
    queue: asyncio.Queue[ObjectId] = asyncio.Queue()
    for cid in todo:
        queue.put_nowait(cid)
    held: set[ObjectId] = set()
    down: list[str] = []  # reasons of the cells failed in a row by an unanswering model server

    async def attempt(cid: ObjectId) -> tuple[Status | None, bool]:
        """Run one cell: its status (None when another runner holds it or already tried it in this run),
        and whether another runner completed it."""
        latest = await store.leases.latest(cid)
        if latest is not None and latest.run == run_id and latest.owner != owner and latest.released:
            return None, False  # a sibling of this run tried it
        try:
            outcome = await conversations.run(store, settings, cid, model_settings, observer=progress,
                                              model=model_for(cid) if model_for else None, extra_stop=stops,
                                              owner=owner, run_id=run_id)
            if outcome.model_down:
                down.append(outcome.reason)
            elif outcome.status is Status.COMPLETED:
                down.clear()
            return outcome.status, False
        except LeaseHeld:
            held.add(cid)
            return None, False
        except ValidationError as exc:
            if "already completed" in exc.message:  # another runner finished it
                return Status.COMPLETED, True
            log.warning("batch %s: conversation %s failed: %s", batch_id, cid, exc.one_line())
            return Status.FAILED, False
        except SimulatorError as exc:  # one bad cell never stops the batch
            log.warning("batch %s: conversation %s failed: %s", batch_id, cid, exc.one_line())
            return Status.FAILED, False
        except Exception:  # a bug in one cell must not take the others down either
            log.exception("batch %s: conversation %s crashed", batch_id, cid)
            return Status.FAILED, False

    async def release_finished_holds() -> None:
        """Cells whose holder finished or vanished go back to the queue."""
        for cid in list(held):
            if not is_live(await store.leases.latest(cid)):
                held.discard(cid)
                queue.put_nowait(cid)

    async def worker() -> None:
        while True:
            if (stop is not None and stop.exhausted()) or len(down) >= PAUSE_AFTER or request.by:
                return
            if queue.empty():
                if not held:
                    return
                await asyncio.sleep(HELD_POLL)
                await release_finished_holds()
                continue
            cid = queue.get_nowait()
            progress.cell_started()
            status, elsewhere = None, False
            try:
                status, elsewhere = await attempt(cid)
            finally:
                progress.cell_finished(status, elsewhere)

    watcher = asyncio.create_task(request.watch(store, batch_id))
    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, max(1, len(todo))))))
    except (asyncio.CancelledError, KeyboardInterrupt):
        await asyncio.shield(store.batches.set_status(batch_id, "stopped", "interrupted"))
        raise
    finally:
        watcher.cancel()
    paused = f"paused: {len(down)} cells in a row failed because the model server did not answer ({down[-1]})" \
        if len(down) >= PAUSE_AFTER else None
    return await _conclude(store, batch_id, progress, stop, budget,
                           f"stopped by {request.by}" if request.by else paused)


async def _conclude(store: Store, batch_id: ObjectId, progress: "BatchProgress", stop, budget,
                    paused: str | None = None) -> BatchOutcome:
    """The batch's outcome from its cells as stored, whichever runner finished them."""
    statuses = [c.status.value for c in await store.conversations.in_batch(batch_id)]
    status = derive_status(statuses)
    status = "stopped" if paused and status != "completed" else status
    note = paused or (f"token budget of {budget} reached" if stop is not None and stop.exhausted() else None)
    await store.batches.set_status(batch_id, status, note)
    count = statuses.count
    return BatchOutcome(batch_id, status, count(Status.COMPLETED.value), count(Status.FAILED.value),
                        count(Status.STOPPED.value) + count(Status.PENDING.value), progress.total, note)


@dataclass(frozen=True)
class CellRow:
    """A cell of a batch with its conversation's state, for `batch status`."""

    n: int
    values: dict
    conversation_id: ObjectId
    status: str  # "stalled": marked running, but its runner's lease ran out (killed, or lost the database)
    runs: int
    messages: int
    n_messages: int | None
    model: str
    error: str | None
    holder: str | None = None  # the runner holding it now
    lease_age: float | None = None  # seconds since its lease was claimed
    tokens: int = 0
    llm: str = ""  # its LLM settings as read ("ollama/x t=0.8"): two settings of one model differ here


def cell_value(axis: str, value, row: CellRow) -> str:
    """An axis value as a researcher reads it: repeats from 1, an LLM setting by its model and
    sampling parameters, counts as 2v1."""
    if axis == "repeat":
        return str(value + 1)
    if axis == "llm":
        return row.llm or row.model
    if axis == "agent_counts" and isinstance(value, dict):
        return "v".join(str(n) for n in value.values())
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


async def cell_table(store: Store, batch_id: ObjectId) -> tuple[Batch, list[CellRow]]:
    """The batch and each cell with its conversation's status, stored messages, tokens and holder.

    Cheap on a large database (the explorer reads it every two seconds while a batch page is
    open): a cell that ended reports what its run recorded, a cell never started has nothing, and
    only the others are read, by equality on their id. One `$group` over the messages instead
    makes FerretDB v1 read every message stored."""
    batch = await store.batches.get(batch_id)
    found = {c.id: c for c in await store.conversations.in_batch(batch_id)}
    recorded = await store.conversations.recorded_counts([c.id for c in found.values() if c.status.value in ENDED])
    leases = await store.leases.latest_for(list(found))
    at = now()
    rows = []
    for cell in batch.cells:
        conversation = found.get(cell.conversation_id)
        lease = leases.get(cell.conversation_id)
        live = is_live(lease, at)
        status = conversation.status.value if conversation else "missing"
        if status == Status.RUNNING.value and not live:
            status = "stalled"
        messages, tokens = await _progress(store, conversation, recorded)
        rows.append(CellRow(
            n=cell.n, values=dict(cell.values), conversation_id=cell.conversation_id, status=status,
            # a runner killed between its claim and its first write still counted as a run
            runs=max(conversation.runs if conversation else 0, lease.epoch if lease else 0),
            messages=messages, tokens=tokens,
            n_messages=conversation.spec.n_messages if conversation else None,
            model=" ".join(dict.fromkeys(l.model for l in conversation.spec.llms)) if conversation else "",
            llm=" / ".join(dict.fromkeys(l.label() for l in conversation.spec.llms)) if conversation else "",
            error=conversation.error if conversation else None, holder=lease.owner if live else None,
            lease_age=(at - lease.claimed_at).total_seconds() if live else None))
    return batch, rows


async def _progress(store: Store, conversation: Conversation | None, recorded: dict[ObjectId, int]) -> tuple[int, int]:
    """(messages stored, tokens used) of one cell: as recorded when its run ended, else read now; a
    running conversation records its usage only when it ends, so its messages' usage is summed."""
    if conversation is None or conversation.status is Status.PENDING and conversation.runs == 0:
        return 0, 0
    if conversation.id in recorded:
        return recorded[conversation.id], conversation.usage.total_tokens
    messages = await store.messages.list(conversation.id)
    used = sum(int(m.usage.get("prompt_tokens") or 0) + int(m.usage.get("completion_tokens") or 0) for m in messages)
    return len(messages), used or conversation.usage.total_tokens
