"""`simulator import legacy SOURCE [--db NAME]`, and the `backrooms import DIR` / `chatroom import DIR` tools.

The legacy import reads the original LLM Interaction Simulator's database from a server (a
mongodb:// URI and --db) or from a mongodump folder; the two tools are registered per protocol in
simulator/cli/protocol_commands.py (TOOLS). Every import prints one line per refused file (stderr),
then what it found, stored, skipped and refused, and exits 1 when it refused anything. The work is in
simulator/actions/imports/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulator.config import Settings
from simulator.core.safe_text import visible
from simulator.errors import ValidationError
from simulator.store import connect


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("import", help="bring in what other tools recorded",
                                 description="Import data recorded by other tools as this project's documents.")
    sources = parser.add_subparsers(dest="source_kind", metavar="SOURCE_KIND", required=True)
    legacy = sources.add_parser(
        "legacy", help="the original LLM Interaction Simulator's database (a mongodb:// URI with --db, or a "
                       "mongodump folder)",
        description="Import the original LLM Interaction Simulator's experiments, conversations and messages. "
                    "SOURCE is a mongodb:// URI (with --db NAME) or a mongodump folder holding experiments.bson, "
                    "conversations.bson and messages.bson. Everything is checked before anything is stored; "
                    "importing again stores nothing twice.")
    legacy.add_argument("source", help="mongodb://... URI, or a mongodump folder")
    legacy.add_argument("--db", help="with a URI: the original's database name")
    legacy.set_defaults(handler=legacy_command)


def report_lines(report) -> int:
    """Refused files on stderr, the summary and notes on stdout; 1 when anything was refused."""
    for line in report.refused:
        print(f"refused: {visible(line)}", file=sys.stderr)
    print(report.summary())
    for note in report.notes:
        print(f"note: {visible(note)}")
    return 1 if report.refused else 0


def _folder(args: argparse.Namespace, command: str) -> Path:
    if not args.path:
        raise ValidationError(f"{command} import needs a folder: simulator {command} import DIR")
    return Path(args.path).expanduser()


async def backrooms_import(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.actions.imports.backrooms import import_logs

    folder = _folder(args, "backrooms")
    async with await connect(settings) as store:
        return report_lines(await import_logs(store, store.user, folder))


async def chatroom_import(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.actions.imports.chatroom import import_logs

    folder = _folder(args, "chatroom")
    async with await connect(settings) as store:
        return report_lines(await import_logs(store, store.user, folder))


async def legacy_command(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.actions.imports import legacy, legacy_source

    if legacy_source.is_uri(args.source):
        data = await legacy_source.read_database(args.source, args.db, settings)
    else:
        if args.db:
            raise ValidationError("--db goes with a mongodb:// URI; a dump folder holds one database")
        data = legacy_source.read_dump(Path(args.source).expanduser())
    mapped = legacy.plan(data)  # checked whole before the store is even opened
    async with await connect(settings) as store:
        return report_lines(await legacy.import_plan(store, mapped))
