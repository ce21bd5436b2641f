"""`simulator list`: conversations newest first, filtered, with ids whole so they can be copied; and the
filter flags `batch list` shares."""

from __future__ import annotations

import argparse

from rich.console import Console

from simulator.actions.browse import Filters, list_conversations
from simulator.actions.experiments import find as find_experiment
from simulator.cli.tables import count, print_table
from simulator.cli.values import whole
from simulator.config import Settings
from simulator.core.conversation import Status
from simulator.store import connect

STATUSES = [s.value for s in Status] + ["stalled"]
BATCH_STATES = ["completed", "running", "stopping", "stopped", "failed", "deleted"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("list", help="conversations, newest first (filters: --experiment, --protocol, --model, "
                                         "--status, --mine, --favourites)")
    add_list_filters(p, batches=False)
    p.set_defaults(handler=list_command)


def add_list_filters(parser: argparse.ArgumentParser, *, batches: bool) -> None:
    parser.add_argument("--experiment", help="only this experiment's (id or name)")
    parser.add_argument("--protocol", help="only this protocol's (roles, chatroom, backrooms, telephone, "
                                           "iterated_learning)")
    parser.add_argument("--status", choices=BATCH_STATES if batches else STATUSES, help="only in this state")
    parser.add_argument("--mine", action="store_true", help="only those you created")
    parser.add_argument("--limit", type=whole(1, 100_000), default=50, help="at most this many (default 50)")
    if not batches:
        parser.add_argument("--model", help="only those whose (first) model is this spec")
        parser.add_argument("--favourites", action="store_true", help="only favourites")


async def list_command(args: argparse.Namespace, settings: Settings) -> int:
    async with await connect(settings) as store:
        experiment_id = (await find_experiment(store, args.experiment)).id if args.experiment else None
        filters = Filters(creator=store.user if args.mine else None, favourite=True if args.favourites else None,
                          model=args.model, protocol=args.protocol, status=args.status)
        rows = await list_conversations(store, filters, experiment_id=experiment_id, limit=args.limit)
    cells = [[str(r.id), r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "", r.protocol, r.title,
              r.model, r.status, f"{count(r.messages)}/{count(r.n_messages)}", r.creator] for r in rows]
    print_table(Console(), f"{len(rows)} conversation(s), newest first ({filters.describe()})",
                ["conversation", "created", "protocol", "title", "model", "status", "messages", "by"], cells)
    return 0
