"""`simulator publish TARGET -o DIR`: an experiment, a batch or conversations as a static site (simulator/web/publish.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.config import Settings


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "publish", help="write an experiment, a batch or conversations as a static website (no server needed)",
        description="Write a static site of the explorer's pages: an index, each transcript, the batch grids, the "
                    "analyses with their figures and tables, and the data as CSV and JSON. It opens from file:// or "
                    "any static host and requests nothing outside its folder.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="an experiment (id or name), a batch id, or one or more conversation ids")
    p.add_argument("-o", "--output", type=Path, required=True, help="folder to write (must not exist or be empty)")
    p.add_argument("--no-analysis", action="store_true", help="leave out the analyses (faster for large batches)")
    p.set_defaults(handler=publish_command)


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return ""


async def publish_command(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.web.database import open_read_only  # the web stack loads only for this command
    from simulator.web.publish import publish

    store = await open_read_only(settings)  # publishing reads only: no index creation, no write
    try:
        done = await publish(store, args.targets, args.output, analysis=not args.no_analysis)
    finally:
        await store.close()
    for note in done.notes:
        print(f"note: {note}")
    print(f"published {done.conversations} conversation(s) to {done.folder}: {done.files} files, "
          f"{size_text(done.bytes)}, in {done.seconds:.1f} s; open {done.folder / 'index.html'}")
    return 0
