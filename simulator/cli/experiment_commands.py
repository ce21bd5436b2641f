"""`simulator experiment ...`: import, export, list, show, duplicate, favourite, note, delete, prompts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.actions import experiments as actions
from simulator.core.assignments import parse_assignments
from simulator.config import Settings
from simulator.cli.render import shown
from simulator.core.safe_text import visible
from simulator.core.experiment_file import MAX_FILE_BYTES, decode_experiment_file, encode_experiment
from simulator.errors import ValidationError
from simulator.files import check_writable, read_limited
from simulator.store import connect


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("experiment", help="design and share experiments")
    sub = parser.add_subparsers(dest="experiment_command", metavar="COMMAND", required=True)

    p = sub.add_parser("import", help="validate a YAML or JSON file and store it")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=import_command)

    p = sub.add_parser("export", help="write an experiment to a YAML or JSON file")
    p.add_argument("experiment", help="id or name")
    p.add_argument("-o", "--output", type=Path, required=True, help="FILE.yaml, FILE.yml or FILE.json")
    p.set_defaults(handler=export_command)

    p = sub.add_parser("list", help="list experiments")
    p.add_argument("--creator", help="only this creator's")
    p.add_argument("--mine", action="store_true", help="only yours")
    p.add_argument("--favourites", action="store_true", help="only favourites")
    p.add_argument("--model", help="only those using this model spec")
    p.set_defaults(handler=list_command)

    p = sub.add_parser("show", help="print an experiment as YAML")
    p.add_argument("experiment", help="id or name")
    p.set_defaults(handler=show_command)

    p = sub.add_parser("duplicate", help="copy an experiment; the copy is yours")
    p.add_argument("experiment", help="id or name")
    p.add_argument("--name", help="name of the copy (default: NAME (copy))")
    p.set_defaults(handler=duplicate_command)

    p = sub.add_parser("favourite", help="mark (or with --off unmark) as favourite")
    p.add_argument("experiment", help="id or name")
    p.add_argument("--off", action="store_true")
    p.set_defaults(handler=favourite_command)

    p = sub.add_parser("note", help="set the note")
    p.add_argument("experiment", help="id or name")
    p.add_argument("text")
    p.set_defaults(handler=note_command)

    p = sub.add_parser("delete", help="delete with its conversations and messages")
    p.add_argument("experiment", help="id or name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=delete_command)

    p = sub.add_parser("prompts", help="print the exact prompts of every agent and the summarizer")
    p.add_argument("experiment", help="id, name, or a .yaml/.json file (checked, not stored)")
    p.add_argument("--agents", required=True, help="agents per role, e.g. guard=2,prisoner=1")
    p.add_argument("--variant", default="", help="variant choices, e.g. goal=yard_time")
    p.set_defaults(handler=prompts_command)


async def import_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        read = actions.read_file(store.user, args.file)
        stored = await actions.store_unique(store, read)
    asked = read.experiment.name
    if stored.experiment.name != asked:
        print(visible(f"an experiment named {asked!r} exists; this one is stored as {stored.experiment.name!r}"))
    print(visible(f"imported {stored.experiment.name!r} as {stored.id}"))
    return 0


async def export_command(args, settings: Settings) -> int:
    if not args.output.name.lower().endswith((".yaml", ".yml", ".json")):
        raise ValidationError(f"{args.output}: use a .yaml, .yml or .json file name")
    check_writable(args.output, f"-o {args.output}")
    async with await connect(settings) as store:
        stored = await actions.export_file(store, args.experiment, args.output)
    print(visible(f"exported {stored.experiment.name!r} to {args.output}"))
    return 0


async def list_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        documents = await actions.list_experiments(
            store, creator=store.user if args.mine else args.creator,
            favourite=True if args.favourites else None, model=args.model)
    table = Table()
    table.add_column("id", no_wrap=True, min_width=24)
    for column in ("name", "creator", "created", "★", "roles", "models"):
        table.add_column(column)
    for doc in documents:
        table.add_row(str(doc["_id"]), shown(doc["name"]), shown(doc.get("creator", "")),
                      doc["created_at"].strftime("%Y-%m-%d %H:%M"), "★" if doc.get("favourite") else "",
                      shown(", ".join(r["name"] for r in doc.get("roles", []))),
                      shown(", ".join(sorted({l["model"] for l in doc.get("llms", [])}))))
    Console().print(table)
    print(f"{len(documents)} experiment(s)")
    return 0


async def show_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        stored = await actions.find(store, args.experiment)
    e = stored.experiment
    print(visible(f"# {stored.id} by {e.creator or '?'}" + (f", duplicated from {e.duplicated_from}"
                                                           if e.duplicated_from else "")))
    sys.stdout.write(visible(encode_experiment(e.to_document(), "show.yaml")))  # U+202E, ESC: escapes, as `show`
    return 0


async def duplicate_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        copy = await actions.duplicate(store, store.user, args.experiment, name=args.name)
    print(visible(f"duplicated as {copy.experiment.name!r} ({copy.id}), owned by {store.user}"))
    return 0


async def favourite_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        stored = await actions.set_favourite(store, store.user, args.experiment, not args.off)
    print(visible(f"{stored.experiment.name!r}: favourite {'off' if args.off else 'on'}"))
    return 0


async def note_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        stored = await actions.set_note(store, store.user, args.experiment, args.text)
    print(visible(f"{stored.experiment.name!r}: note saved"))
    return 0


async def delete_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        stored = await actions.find(store, args.experiment)
        actions.require_creator(stored, store.user, "delete")
        if not args.yes and not confirm(f"Delete {stored.experiment.name!r} ({stored.id}) with all its "
                                        f"conversations and messages?"):
            print("not deleted")
            return 1
        deleted = await actions.delete(store, store.user, str(stored.id))
    print(visible(f"deleted {stored.experiment.name!r}: ") + f"{deleted.conversations} conversations, {deleted.messages} messages, "
          f"{deleted.summaries} summaries")
    return 0


def confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise ValidationError("refusing to delete without confirmation and no terminal to ask on", "add --yes")
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


async def prompts_command(args, settings: Settings) -> int:
    counts = parse_assignments(args.agents, "--agents", integer=True)
    variants = parse_assignments(args.variant, "--variant") if args.variant.strip() else {}
    if args.experiment.lower().endswith((".yaml", ".yml", ".json")) and Path(args.experiment).is_file():
        path = Path(args.experiment)
        raw = read_limited(path, MAX_FILE_BYTES, str(path))
        experiment = actions.validate_document(decode_experiment_file(raw, path.name), path.name)
    else:
        async with await connect(settings) as store:
            experiment = (await actions.find(store, args.experiment)).experiment
    console = Console()
    for heading, text in actions.rendered_prompts(experiment, counts, variants):
        console.rule(f"[bold]{shown(heading)}")
        console.print(visible(text), markup=False, highlight=False)
    return 0
