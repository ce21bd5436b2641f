"""`simulator resume | show | export`: one conversation at a time, of any protocol."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from simulator.actions import conversations as actions
from simulator.actions.browse import require_creator, transcript
from simulator.actions.experiments import StoredExperiment, find as find_experiment, read_file
from simulator.cli.export import FORMATS, render_export
from simulator.cli.render import LiveTranscript, print_conversation
from simulator.cli.render import shown
from simulator.cli.values import ATTEMPTS, CONCURRENCY, SECONDS, TIMEOUT
from simulator.core.safe_text import visible
from simulator.config import Settings
from simulator.errors import ValidationError
from simulator.files import check_writable
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.store import Status, Store, connect


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--attempts", type=ATTEMPTS, default=4, help="tries per model call (1 to 100, default 4)")
    parser.add_argument("--timeout", type=TIMEOUT, default=120.0,
                        help="seconds per try (more than 0, at most 3600; default 120)")
    parser.add_argument("--concurrency", type=CONCURRENCY, default=4,
                        help="model calls at once per endpoint (1 to 1024, default 4)")
    parser.add_argument("--replay", action="store_true", help="answer from recorded calls only, no model server")
    parser.add_argument("--no-record", action="store_true", help="do not record calls for later replay")
    parser.add_argument("--wall-clock", type=SECONDS, help="pause (resumably) after this many seconds (more than 0)")


def model_settings(args: argparse.Namespace) -> ModelSettings:
    mode = CallMode.REPLAY if args.replay else CallMode.LIVE if args.no_record else CallMode.RECORD
    return ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout),
                         concurrency=args.concurrency, mode=mode)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("resume", help="continue a failed, stopped or killed conversation")
    p.add_argument("conversation")
    p.add_argument("--force", action="store_true",
                   help="when another runner holds it, wait for its lease to expire and take over")
    add_model_options(p)
    p.set_defaults(handler=resume_command)

    p = commands.add_parser("show", help="print a conversation with day headers and summaries")
    p.add_argument("conversation")
    p.set_defaults(handler=show_command)

    p = commands.add_parser("export", help="write a conversation as txt, jsonl or csv")
    p.add_argument("conversation")
    p.add_argument("--format", choices=FORMATS, default="txt",
                   help="txt (readable), jsonl (a message per line), csv, or json (the whole run: "
                        "its configuration, messages and summaries)")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    p.set_defaults(handler=export_command)


async def experiment_for(store: Store, settings: Settings, reference: str) -> tuple[StoredExperiment, bool]:
    """An experiment by id or name, or read from a file: (it, whether it still has to be stored).
    A file's experiment is stored only once everything else about the run has been checked."""
    path = Path(reference)
    if reference.lower().endswith((".yaml", ".yml", ".json")) and path.exists():
        return read_file(store.user, path), True
    return await find_experiment(store, reference), False


async def resume_command(args, settings: Settings) -> int:
    console = Console()
    async with await connect(settings) as store:
        cid = actions.conversation_id(args.conversation)
        conversation = await store.conversations.get(cid)
        require_creator(conversation, store.user, "resume")
        done = await store.messages.first_missing_index(cid)
        console.print(f"resuming {cid} at message {done} of {conversation.spec.n_messages} "
                      f"(was {conversation.status.value})", highlight=False)
        return await run_and_report(store, settings, args, cid, console)


async def run_and_report(store: Store, settings: Settings, args, cid, console: Console) -> int:
    """Run or resume one conversation, showing its turns live; the exit code says how it ended."""
    conversation = await store.conversations.get(cid)
    observer = LiveTranscript(console, conversation)
    chooser = manual_chooser(console) if conversation.spec.option("speaker_selection") == "manual" else None
    options = model_settings(args)
    outcome = await actions.run(store, settings, cid, options, observer=observer, chooser=chooser,
                                wall_clock=args.wall_clock, force=getattr(args, "force", False))
    tokens = options.meter.prompt_tokens + options.meter.completion_tokens
    console.print(f"{outcome.status.value}: {shown(outcome.reason)} — {outcome.messages} messages stored, "
                  f"{tokens} tokens this run. Conversation {cid}", highlight=False)
    if outcome.status is Status.FAILED:
        print(f"error: conversation {cid} failed: {visible(outcome.reason)} (resume with: simulator resume {cid})",
              file=sys.stderr)
        return 1
    if outcome.status is Status.STOPPED:
        console.print(f"resume with: simulator resume {cid}")
    return 0


def manual_chooser(console: Console):
    if not sys.stdin.isatty():
        raise ValidationError("manual speaker selection needs a terminal", "use another --speaker method")

    async def choose(state):
        import questionary

        names = [a.name for a in state.agents]
        answer = await questionary.select("Who speaks next?", choices=names).ask_async()
        if answer is None:
            raise KeyboardInterrupt
        return state.agent(answer)

    return choose


async def show_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        shown = await transcript(store, actions.conversation_id(args.conversation))
    print_conversation(Console(), shown)
    return 0


async def export_command(args, settings: Settings) -> int:
    if args.output:
        check_writable(args.output, f"-o {args.output}")
    async with await connect(settings) as store:
        shown = await transcript(store, actions.conversation_id(args.conversation))
    text = render_export(args.format, shown)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(shown.messages)} messages to {args.output}")
    else:
        sys.stdout.write(text)
    return 0
