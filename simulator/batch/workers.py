"""A batch over several workers: local processes (`--workers N`) or Ray actors (`--ray`).

One event loop is the bottleneck of a large batch (profiled: about 2.8 ms of CPU per model
call in the HTTP stack, the engine and the database), so the cells are spread over workers,
each a process with its own loop and its own share of the concurrency. Workers coordinate
only through MongoDB: each runs the ordinary batch runner, which leases every cell before
running it, so no cell is run twice at once and a dead worker's cells are taken over by the
others (simulator/actions/leasing.py). Each worker also keeps a document of its own counters
(simulator/store/workers.py), which the starting process sums for its live display.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from bson import ObjectId

from simulator import aio
from simulator.actions.leasing import HOST, new_owner
from simulator.batch.runner import BatchProgress, run_batch
from simulator.config import Settings
from simulator.core.conversation import Status
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.logs import get_logger, setup_logging
from simulator.secrets import register
from simulator.store import Store, connect
from simulator.store.workers import WorkerRecord

log = get_logger("batch.workers")

HEARTBEAT = 1.0  # seconds between a worker's counter updates
STALE = 15.0  # a worker not seen for this long is gone


def default_workers() -> int:
    """One per core, at most 8: each worker is one busy event loop."""
    return max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class WorkerJob:
    """Everything a worker needs, picklable for another process or a Ray actor."""

    settings: Settings
    batch_id: ObjectId
    run: str
    concurrency: int
    attempts: int = 4
    timeout: float = 120.0
    record: bool = True
    token_budget: int | None = None
    node: str = ""  # the Ray node's address the worker runs on ("" for a local process)

    def model_settings(self) -> ModelSettings:
        return ModelSettings(retry=RetryPolicy(attempts=self.attempts, timeout=self.timeout),
                             concurrency=self.concurrency, mode=CallMode.RECORD if self.record else CallMode.LIVE)


def shares(job: WorkerJob, count: int, endpoints: list[str] | None = None) -> list[WorkerJob]:
    """`count` jobs, each with its share of the concurrency and its model endpoint (round robin)."""
    share = max(1, math.ceil(job.concurrency / count))
    jobs = []
    for i in range(count):
        settings = replace(job.settings, ollama_host=endpoints[i % len(endpoints)]) if endpoints else job.settings
        jobs.append(replace(job, settings=settings, concurrency=share))
    return jobs


@dataclass
class ReportingProgress(BatchProgress):
    """A worker's counters, copied into its worker document on every heartbeat."""

    done_here: int = 0  # cells this worker completed (`done` also counts those completed before)
    cpu_start: float = field(default_factory=time.process_time)

    def copy_to(self, record: WorkerRecord) -> None:
        record.completed, record.failed, record.stopped = self.done_here, self.failed, self.stopped
        record.running, record.messages, record.tokens = self.running, self.messages, self.tokens
        record.calls = self.calls
        record.cpu_seconds = round(time.process_time() - self.cpu_start, 3)

    def cell_finished(self, status: Status | None, elsewhere: bool = False) -> None:
        super().cell_finished(status, elsewhere)
        if status is Status.COMPLETED and not elsewhere:
            self.done_here += 1


async def work(job: WorkerJob) -> WorkerRecord:
    """The body of every worker: run the batch's cells under leases, keeping its counters in the store."""
    register(job.settings.secrets())  # a Ray actor's process: its writes are scrubbed like everyone's
    async with await connect(job.settings) as store:
        record = WorkerRecord(owner=new_owner(), batch_id=job.batch_id, run=job.run, host=HOST, pid=os.getpid(),
                              node=job.node)
        progress = ReportingProgress(total=0)
        options = job.model_settings()
        beat = asyncio.create_task(_heartbeat(store, record, progress))
        try:
            await run_batch(store, job.settings, job.batch_id, options, concurrency=job.concurrency,
                            token_budget=job.token_budget, progress=progress, run_id=job.run, owner=record.owner)
        finally:
            beat.cancel()
            progress.copy_to(record)
            record.finished = True
            with contextlib.suppress(Exception):
                await asyncio.shield(store.workers.save(record))
        return record


async def _heartbeat(store: Store, record: WorkerRecord, progress: ReportingProgress) -> None:
    while True:
        progress.copy_to(record)
        with contextlib.suppress(Exception):  # a missed beat only makes the display lag
            await store.workers.save(record)
        await asyncio.sleep(HEARTBEAT)


def process_main(job: WorkerJob) -> None:
    """A local worker process: its own event loop; Ctrl-C stops its runs, which stay resumable, and so does
    the death of the process that launched it (kill -9 of `simulator batch` must not leave a sweep running)."""
    setup_logging(job.settings.secrets())
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True,
                     name="launcher-watch").start()
    try:
        aio.run(work(job))
    except KeyboardInterrupt:
        sys.exit(130)


ORPHAN_POLL = 1.0  # seconds between looks at the launcher
ORPHAN_GRACE = 8.0  # seconds the worker has to stop its runs before it exits regardless


def _stop_when_orphaned(launcher: int) -> None:
    """Once the launcher is gone (this process was re-parented), interrupt this worker as Ctrl-C would:
    its conversations are marked stopped and stay resumable; exit regardless after ORPHAN_GRACE."""
    while os.getppid() == launcher:
        time.sleep(ORPHAN_POLL)
    log.warning("the process that launched this worker (pid %d) is gone; stopping its runs", launcher)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(ORPHAN_GRACE)
    os._exit(130)


class LocalWorkers:
    """N worker processes (spawned, so nothing of the parent's event loop is inherited)."""

    def __init__(self, jobs: list[WorkerJob]):
        context = multiprocessing.get_context("spawn")
        self.processes = [context.Process(target=process_main, args=(job,), name=f"simulator-worker-{i + 1}")
                          for i, job in enumerate(jobs)]
        for process in self.processes:
            process.start()

    def running(self) -> bool:
        return any(p.is_alive() for p in self.processes)

    def lost(self) -> list[int]:
        """Workers that died by a signal (kill -9): their cells are taken over by the others."""
        return [i + 1 for i, p in enumerate(self.processes) if p.exitcode is not None and p.exitcode < 0]

    def interrupt(self) -> None:
        for process in self.processes:
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)

    def join(self, timeout: float = 60.0) -> None:
        for process in self.processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()


@dataclass
class Totals:
    """The workers' counters summed, for the live display."""

    completed: int = 0
    failed: int = 0
    stopped: int = 0
    running: int = 0
    messages: int = 0
    tokens: int = 0
    workers: int = 0


async def totals(store: Store, batch_id: ObjectId, run: str) -> Totals:
    result = Totals()
    for record in await store.workers.of_batch(batch_id, run):
        result.workers += not record.finished
        for name in ("completed", "failed", "stopped", "running", "messages", "tokens"):
            setattr(result, name, getattr(result, name) + getattr(record, name))
    return result


async def watch(store: Store, job: WorkerJob, running: Callable[[], bool], show: Callable[[Totals], None],
                every: float = 0.5) -> Totals:
    """Until no worker runs: sum their counters and show them."""
    current = Totals()
    while running():
        current = await totals(store, job.batch_id, job.run)
        show(current)
        await asyncio.sleep(every)
    current = await totals(store, job.batch_id, job.run)
    show(current)
    return current
