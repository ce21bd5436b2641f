"""`simulator batch EXPERIMENT ...`, `batch list`, `batch resume|status|stop|workers ID`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid

from bson import ObjectId
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulator.actions.conversations import preflight
from simulator.actions.experiments import store_new
from simulator.actions.ownership import require_creator
from simulator.batch.plan import check_plan, create_batch
from simulator.batch.runner import (DEFAULT_CONCURRENCY, STOP_POLL, BatchProgress, batch_state, batches_with_state,
                                    cell_table,
                                    cell_value, derive_status,
                                    run_batch)
from simulator.core.assignments import parse_assignments
from simulator.cli.conversation_commands import experiment_for
from simulator.config import Settings
from simulator.engine.context import VIEWS
from simulator.engine.selection import METHODS
from simulator.errors import ValidationError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.actions.leasing import now
from simulator.cli.render import shown
from simulator.core.ids import parse_id
from simulator.core.safe_text import visible
from simulator.cli.values import (ATTEMPTS, CONCURRENCY, DAYS, MESSAGES, REPEAT, SEED, TIMEOUT, TOKENS,
                                   WORKERS, server_url)
from simulator.batch.workers import STALE, LocalWorkers, Totals, WorkerJob, default_workers, shares, watch
from simulator.core.conversation import Status
from simulator.actions.experiments import find as find_experiment
from simulator.cli.lists import add_list_filters
from simulator.cli.tables import count, print_table
from simulator.protocols.roles import choose_llm, role_batch
from simulator.store import Store, connect


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("batch", help="run a factorial sweep concurrently; `batch list`, "
                                          "`batch resume|status|stop|workers ID`",
                            description="simulator batch EXPERIMENT [options] | batch list [filters] | batch resume ID | "
                                        "batch status ID | batch stop ID | batch workers ID")
    p.add_argument("target", help="experiment id, name or file; or `list` / `resume` / `status` / `stop` / `workers`")
    p.add_argument("batch_id", nargs="?", help="with resume, status, stop or workers: the batch id")
    p.add_argument("--llm", action="append", default=[], help="model spec or 1-based index; repeat for several")
    p.add_argument("--max-agents", help="maximum agents per role, e.g. guard=2,prisoner=2")
    p.add_argument("--all-combinations", action="store_true", help="every count 1..max per role, not only the max")
    p.add_argument("--messages", type=MESSAGES, help="messages per conversation (1 to 100000)")
    p.add_argument("--days", type=DAYS, default=1, help="days per conversation (default 1)")
    p.add_argument("--days-range", action="store_true", help="try every day count 1..DAYS")
    p.add_argument("--repeat", type=REPEAT, default=1, help="conversations per setting (default 1)")
    p.add_argument("--speaker", default="round_robin", choices=METHODS)
    p.add_argument("--view", default="shared", choices=VIEWS)
    p.add_argument("--variant", default="", help="variant choices, e.g. goal=yard_time")
    p.add_argument("--seed", type=SEED, help="base seed of the batch (0 to 2147483647; default random, stored)")
    p.add_argument("--concurrency", type=CONCURRENCY, default=DEFAULT_CONCURRENCY,
                   help=f"conversations at once, and model calls at once per endpoint (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--budget-tokens", type=TOKENS, help="pause the whole batch after this many tokens (at least 1)")
    p.add_argument("--attempts", type=ATTEMPTS, default=4, help="tries per model call (1 to 100, default 4)")
    p.add_argument("--timeout", type=TIMEOUT, default=120.0, help="seconds per try (more than 0, at most 3600; "
                                                                    "default 120)")
    p.add_argument("--no-record", action="store_true", help="do not record calls for replay")
    add_worker_flags(p)
    add_list_filters(p, batches=True)
    p.set_defaults(handler=batch_command)


def add_worker_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=WORKERS,
                        help=f"worker processes sharing the batch (default {default_workers()} on this machine: one "
                             f"per core, at most 8)")
    parser.add_argument("--ray", metavar="ADDRESS", help="run the workers as Ray actors on this cluster "
                                                          "(`auto` starts a local one); needs the ray extra")
    parser.add_argument("--endpoints", nargs="+", metavar="URL", type=server_url,
                        help="Ollama servers, one per worker in turn (default OLLAMA_HOST, on each node its own)")


def batch_id_of(text: str | None) -> ObjectId:
    return parse_id(text, "batch", "`simulator batch EXPERIMENT ...` prints batch ids")


async def batch_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        if args.target == "list":
            return await list_batches(store, args)
        if args.target in ("resume", "status", "stop", "workers"):
            batch_id = batch_id_of(args.batch_id)
            if args.target == "status":
                return await status(store, batch_id)
            if args.target == "workers":
                return await list_workers(store, batch_id)
            batch = await store.batches.get(batch_id)
            require_creator(batch.creator, store.user, args.target, f"batch {batch_id}",
                            "run the experiment's batch yourself to get your own")
            if args.target == "stop":
                return await stop(store, batch_id)
            await store.batches.request_stop(batch_id, None)  # a resume undoes an earlier `batch stop`
            return await execute(store, settings, args, batch_id)
        if args.batch_id:
            raise ValidationError(f"unexpected argument {args.batch_id!r}")
        if not args.max_agents or not args.messages:
            raise ValidationError("a new batch needs --max-agents and --messages",
                                  "e.g. --max-agents guard=2,prisoner=2 --messages 12")
        stored, new = await experiment_for(store, settings, args.target)
        llms = tuple(dict.fromkeys(choose_llm(stored.experiment, spec) for spec in (args.llm or [None])))
        plan = role_batch(llms=llms, max_agents=parse_assignments(args.max_agents, "--max-agents", integer=True),
                          n_messages=args.messages, days=args.days, every_day_count=args.days_range,
                          every_combination=args.all_combinations, repeats=args.repeat,
                          speaker_selection=args.speaker, view=args.view, seed=args.seed,
                          variants=parse_assignments(args.variant, "--variant") if args.variant.strip() else {},
                          token_budget=args.budget_tokens)
        cells = check_plan(plan, stored)  # everything checked before anything (a file's experiment too) is written
        await preflight(settings, ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout)),
                        [c.spec for c in cells])
        if new:
            await store_new(store, stored)
        planned = await create_batch(store, store.user, stored, plan)
        print(f"batch {planned.id}: {planned.cells} conversations, about {planned.estimated_calls} model calls",
              flush=True)
        return await execute(store, settings, args, planned.id)


async def execute(store: Store, settings: Settings, args, batch_id: ObjectId) -> int:
    """Run a batch's unfinished cells: in this process, or over worker processes or Ray actors."""
    batch, rows = await cell_table(store, batch_id)
    unfinished = sum(r.status != Status.COMPLETED.value for r in rows)
    workers = getattr(args, "workers", None) or default_workers()
    if workers < 1 or workers > 256:
        raise ValidationError(f"--workers must be 1 to 256, got {workers}")
    if getattr(args, "ray", None) or min(workers, unfinished) > 1:
        return await execute_on_workers(store, settings, args, batch_id, min(workers, max(1, unfinished)),
                                        total=len(rows), done_before=len(rows) - unfinished)
    return await execute_here(store, settings, args, batch_id)


async def execute_on_workers(store: Store, settings: Settings, args, batch_id: ObjectId, count: int, *,
                             total: int, done_before: int) -> int:
    job = WorkerJob(settings=settings, batch_id=batch_id, run=uuid.uuid4().hex, concurrency=args.concurrency,
                    attempts=args.attempts, timeout=args.timeout, record=not args.no_record,
                    token_budget=batch_budget(args))
    jobs = shares(job, count, getattr(args, "endpoints", None))
    console = Console()
    started = time.monotonic()
    where = f"Ray at {args.ray}" if getattr(args, "ray", None) else "worker processes"
    console.print(f"{count} {where}, {jobs[0].concurrency} conversations at once each", highlight=False)
    if getattr(args, "ray", None):
        from simulator.batch.ray_runner import RayWorkers  # Ray is an optional extra

        pool = RayWorkers(jobs, args.ray)
    else:
        pool = LocalWorkers(jobs)

    def line(t: Totals) -> str:
        rate = t.messages / max(1e-9, time.monotonic() - started)
        return (f"workers {t.workers}  done {done_before + t.completed}/{total}  running {t.running}  "
                f"failed {t.failed}  stopped {t.stopped}  |  {rate:.1f} msg/s  {t.tokens:,} tokens")

    try:
        with Live(line(Totals()), console=console, refresh_per_second=4, transient=False) as live:
            final = await watch(store, job, pool.running, lambda t: live.update(line(t)))
    except (asyncio.CancelledError, KeyboardInterrupt):
        pool.interrupt()
        pool.join(30)
        raise KeyboardInterrupt from None
    pool.join()
    if not console.is_terminal:  # the last progress line ends without one through a pipe
        console.line()
    for number in pool.lost():
        console.print(f"worker {number} died; the others took over its cells", highlight=False)
    return await report(store, console, batch_id, final.tokens)


def batch_budget(args) -> int | None:
    """`simulator batch --budget-tokens` is for the whole batch; a protocol command's is per conversation."""
    return args.budget_tokens if hasattr(args, "target") else None


async def report(store: Store, console: Console, batch_id: ObjectId, tokens: int) -> int:
    """The batch's outcome from its cells, whoever ran them; exit 0 only when all completed."""
    batch, rows = await cell_table(store, batch_id)
    statuses = [r.status for r in rows]
    outcome = derive_status(statuses)
    completed, failed = statuses.count("completed"), statuses.count("failed")
    console.print(f"batch {batch_id} {outcome}: {completed} of {len(rows)} completed, {failed} failed, "
                  f"{len(rows) - completed - failed} stopped; {tokens:,} tokens", highlight=False)
    if outcome == "completed":
        return 0
    if batch.note and batch.note.startswith("paused"):
        print(f"error: batch {batch_id} {visible(batch.note)}", file=sys.stderr)
    console.print(f"continue with: simulator batch resume {batch_id}", highlight=False)
    return 1


async def list_workers(store: Store, batch_id: ObjectId) -> int:
    await store.batches.get(batch_id)
    live = [w for w in await store.workers.of_batch(batch_id)
            if not w.finished and (now() - w.last_seen).total_seconds() < STALE]
    table = Table(title=f"live workers of batch {batch_id}")
    for column in ("worker", "host", "node", "pid", "started", "last seen", "running", "completed", "failed",
                   "messages", "CPU ms/call"):
        table.add_column(column)
    for w in live:
        table.add_row(shown(w.owner), shown(w.host), shown(w.node or "local"), str(w.pid),
                      w.started_at.strftime("%H:%M:%S"),
                      f"{(now() - w.last_seen).total_seconds():.0f}s ago", str(w.running), str(w.completed),
                      str(w.failed), str(w.messages), f"{1000 * w.cpu_seconds / w.calls:.1f}" if w.calls else "-")
    Console().print(table)
    print(f"{len(live)} live worker(s)")
    return 0


async def execute_here(store: Store, settings: Settings, args, batch_id: ObjectId) -> int:
    options = ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout),
                            concurrency=args.concurrency,
                            mode=CallMode.LIVE if args.no_record else CallMode.RECORD)
    console = Console()
    progress = BatchProgress(total=0)
    bar = Progress(TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console)
    task = bar.add_task("cells", total=None)

    def view() -> Group:
        bar.update(task, total=progress.total, completed=progress.done + progress.failed)
        left = progress.seconds_left
        eta = f"{left:,.0f}s left" if left is not None else "estimating"
        line = (f"done {progress.done}  running {progress.running}  failed {progress.failed}  "
                f"stopped {progress.stopped}  |  {progress.messages_per_second:.1f} msg/s  "
                f"{progress.tokens:,} tokens  |  {eta}")
        return Group(bar, line)

    runner = asyncio.create_task(run_batch(store, settings, batch_id, options, concurrency=args.concurrency,
                                           token_budget=batch_budget(args), progress=progress))
    with Live(view(), console=console, refresh_per_second=4, transient=False) as live:
        while not runner.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(runner), 0.25)
            live.update(view())
    runner.result()
    console.print()
    return await report(store, console, batch_id, options.meter.total_tokens)


async def status(store: Store, batch_id: ObjectId) -> int:
    batch, rows = await cell_table(store, batch_id)
    axes = [a for a in batch.axes if any(a in r.values for r in rows)]
    state = batch_state(batch, [r.status for r in rows])
    columns = ["#", *(a.replace("_", " ") for a in axes), "status", "messages", "runs", "holder", "lease",
               "conversation"]
    cells = [[str(row.n), *(cell_value(axis, row.values.get(axis), row) for axis in axes), row.status,
              f"{count(row.messages)}/{count(row.n_messages)}", str(row.runs), row.holder or "",
              f"{row.lease_age:.0f}s" if row.lease_age is not None else "", str(row.conversation_id)] for row in rows]
    print_table(Console(), f"batch {batch_id} — {batch.title} — {state}", columns, cells)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if batch.stop_requested and state != "completed":
        print(f"stop requested by {visible(batch.stop_requested)}; continue with: simulator batch resume {batch_id}")
    return 0


async def stop(store: Store, batch_id: ObjectId) -> int:
    """Ask every runner of the batch, wherever it runs, to stop; its cells stay resumable."""
    await store.batches.request_stop(batch_id, store.user)
    batch, rows = await cell_table(store, batch_id)
    if not any(r.holder for r in rows):  # nobody runs it: the request is the whole stop
        await store.batches.set_status(batch_id, batch_state(batch, [r.status for r in rows]),
                                       f"stopped by {store.user}")
        print(f"batch {batch_id}: stopped (no runner was running it)")
    else:
        print(f"batch {batch_id}: asked to stop; its runners stop their conversations within about "
              f"{STOP_POLL + 2:.0f} s, each resumable (simulator batch resume {batch_id})")
    return 0


async def list_batches(store: Store, args) -> int:
    """Batches newest first, filtered; the ids are whole so they can be copied."""
    experiment_id = (await find_experiment(store, args.experiment)).id if args.experiment else None
    listed = await batches_with_state(store, experiment_id=experiment_id, limit=args.limit,
                                      creator=store.user if args.mine else None, protocol=args.protocol)
    rows = []
    for batch, state in listed:
        if args.status and state != args.status:
            continue
        rows.append([str(batch.id), batch.created_at.strftime("%Y-%m-%d %H:%M") if batch.created_at else "",
                     batch.protocol, batch.title, str(len(batch.cells)), state, batch.creator])
    print_table(Console(), f"{len(rows)} batch(es), newest first",
                ["batch", "created", "protocol", "title", "cells", "status", "by"], rows)
    return 0
