"""`simulator batch EXPERIMENT ...`, `simulator batch resume ID`, `simulator batch status ID`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bson import ObjectId
from bson.errors import InvalidId
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulator.batch.plan import create_batch
from simulator.batch.runner import DEFAULT_CONCURRENCY, BatchProgress, cell_table, run_batch
from simulator.core.assignments import parse_assignments
from simulator.cli.conversation_commands import experiment_for
from simulator.config import Settings
from simulator.engine.context import VIEWS
from simulator.engine.selection import METHODS
from simulator.errors import NotFound, ValidationError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.protocols.roles import choose_llm, role_batch
from simulator.store import Store, connect


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("batch", help="run a factorial sweep concurrently; `batch resume ID`, `batch status ID`",
                            description="simulator batch EXPERIMENT [options] | batch resume ID | batch status ID")
    p.add_argument("target", help="experiment id, name or file; or `resume` / `status`")
    p.add_argument("batch_id", nargs="?", help="with resume or status: the batch id")
    p.add_argument("--llm", action="append", default=[], help="model spec or 1-based index; repeat for several")
    p.add_argument("--max-agents", help="maximum agents per role, e.g. guard=2,prisoner=2")
    p.add_argument("--all-combinations", action="store_true", help="every count 1..max per role, not only the max")
    p.add_argument("--messages", type=int, help="messages per conversation")
    p.add_argument("--days", type=int, default=1, help="days per conversation (default 1)")
    p.add_argument("--days-range", action="store_true", help="try every day count 1..DAYS")
    p.add_argument("--repeat", type=int, default=1, help="conversations per setting (default 1)")
    p.add_argument("--speaker", default="round_robin", choices=METHODS)
    p.add_argument("--view", default="shared", choices=VIEWS)
    p.add_argument("--variant", default="", help="variant choices, e.g. goal=yard_time")
    p.add_argument("--seed", type=int, help="base seed of the batch (default random, stored)")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                   help=f"conversations at once, and model calls at once per endpoint (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--budget-tokens", type=int, help="pause the whole batch after this many tokens")
    p.add_argument("--attempts", type=int, default=4, help="tries per model call (default 4)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per try (default 120)")
    p.add_argument("--no-record", action="store_true", help="do not record calls for replay")
    p.set_defaults(handler=batch_command)


def batch_id_of(text: str | None) -> ObjectId:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{text!r} is not a batch id", "batch ids are 24 hex characters") from None


async def batch_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        if args.target in ("resume", "status"):
            batch_id = batch_id_of(args.batch_id)
            if args.target == "status":
                return await status(store, batch_id)
            await store.batches.get(batch_id)
            return await execute(store, settings, args, batch_id)
        if args.batch_id:
            raise ValidationError(f"unexpected argument {args.batch_id!r}")
        if not args.max_agents or not args.messages:
            raise ValidationError("a new batch needs --max-agents and --messages",
                                  "e.g. --max-agents guard=2,prisoner=2 --messages 12")
        stored = await experiment_for(store, settings, args.target)
        llms = tuple(dict.fromkeys(choose_llm(stored.experiment, spec) for spec in (args.llm or [None])))
        plan = role_batch(llms=llms, max_agents=parse_assignments(args.max_agents, "--max-agents", integer=True),
                          n_messages=args.messages, days=args.days, every_day_count=args.days_range,
                          every_combination=args.all_combinations, repeats=args.repeat,
                          speaker_selection=args.speaker, view=args.view, seed=args.seed,
                          variants=parse_assignments(args.variant, "--variant") if args.variant.strip() else {},
                          token_budget=args.budget_tokens)
        planned = await create_batch(store, settings.user, stored, plan)
        print(f"batch {planned.id}: {planned.cells} conversations, about {planned.estimated_calls} model calls",
              flush=True)
        return await execute(store, settings, args, planned.id)


async def execute(store: Store, settings: Settings, args, batch_id: ObjectId) -> int:
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
                                           token_budget=args.budget_tokens, progress=progress))
    with Live(view(), console=console, refresh_per_second=4, transient=False) as live:
        while not runner.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(runner), 0.25)
            live.update(view())
    outcome = runner.result()
    console.print()
    console.print(f"batch {batch_id} {outcome.status}: {outcome.completed} of {outcome.total} completed, "
                  f"{outcome.failed} failed, {outcome.stopped} stopped; {options.meter.total_tokens:,} tokens",
                  highlight=False)
    if outcome.status != "completed":
        console.print(f"continue with: simulator batch resume {batch_id}", highlight=False)
    return 0 if outcome.status == "completed" else 1


async def status(store: Store, batch_id: ObjectId) -> int:
    batch, rows = await cell_table(store, batch_id)
    axes = [a for a in batch.axes if any(a in r.values for r in rows)]
    table = Table(title=f"batch {batch_id} — {batch.title} — {batch.status}")
    for column in ("#", *axes, "status", "messages", "runs", "conversation"):
        table.add_column(column.replace("_", " "), no_wrap=column == "conversation")
    for row in rows:
        shown = [cell_value(axis, row.values.get(axis), row) for axis in axes]
        table.add_row(str(row.n), *shown, row.status, f"{row.messages}/{row.n_messages}", str(row.runs),
                      str(row.conversation_id))
    Console().print(table)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0


def cell_value(axis: str, value, row) -> str:
    """An axis value as a researcher reads it: repeats from 1, an LLM by its model, counts as 2v1."""
    if axis == "repeat":
        return str(value + 1)
    if axis == "llm":
        return row.model
    if axis == "agent_counts" and isinstance(value, dict):
        return "v".join(str(n) for n in value.values())
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)
