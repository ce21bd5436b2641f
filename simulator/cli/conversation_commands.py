"""`simulator resume | show | export`: one conversation at a time, of any protocol."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from simulator.actions import conversations as actions
from simulator.actions.browse import require_creator, transcript
from simulator.actions.provenance import provenance
from simulator.actions.experiments import StoredExperiment, find as find_experiment, read_file
from simulator.analysis.scorers import column
from simulator.cli.export import FORMATS, analysis_rows, render_export, render_rows, utf8
from simulator.core.ids import parse_id
from simulator.cli.render import LiveTranscript, print_conversation
from simulator.cli.render import shown
from simulator.cli.provenance_render import provenance_lines
from simulator.cli.values import ATTEMPTS, CONCURRENCY, SECONDS, TIMEOUT
from simulator.core.safe_text import visible
from simulator.config import Settings
from simulator.errors import ValidationError
from simulator.files import check_writable, write_text
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

    p = commands.add_parser("export", help="write a conversation, or every run of a batch or experiment, as txt, "
                                           "jsonl, csv or json")
    p.add_argument("conversation", nargs="?", help="a conversation id (or give --batch or --experiment)")
    p.add_argument("--batch", help="every run of this batch, into one csv or jsonl file")
    p.add_argument("--experiment", help="every run of this experiment (id or name), into one csv or jsonl file")
    p.add_argument("--format", choices=FORMATS, default="txt",
                   help="txt (readable), jsonl (a message per line), csv, or json (the whole run: "
                        "its configuration, messages and summaries); csv and jsonl carry each run's settings and "
                        "each message's scores")
    p.add_argument("--with-summaries", action="store_true", help="csv, jsonl: a row per day summary too")
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
        record = await provenance(store, shown.conversation.id)
    print_conversation(Console(), shown)
    print("\n".join(provenance_lines(record)))  # lineage and provenance under the transcript (issue 25)
    return 0


async def export_command(args, settings: Settings) -> int:
    if args.output:
        check_writable(args.output, f"-o {args.output}")
    many = bool(args.batch or args.experiment)
    if many == bool(args.conversation) or (args.batch and args.experiment):
        raise ValidationError("give one conversation id, or --batch B, or --experiment X")
    if many and args.format not in ("csv", "jsonl"):
        raise ValidationError("a batch or an experiment exports as csv or jsonl (one file for all its runs)")
    async with await connect(settings) as store:
        ids = await _runs_to_export(store, args) if many else [actions.conversation_id(args.conversation)]
        shown = [await transcript(store, cid) for cid in ids]
        scores = {cid: await _scores(store, cid) for cid in ids} if args.format in ("csv", "jsonl") else {}
    if many:
        rows = [row for t in shown for row in analysis_rows(t, scores[t.conversation.id], args.with_summaries)]
        text = utf8(render_rows(args.format, rows))
    else:
        text = render_export(args.format, shown[0], scores.get(ids[0]), args.with_summaries)
    if args.output:
        write_text(args.output, text, f"-o {args.output}")  # a full disk is one line, not a traceback
        print(f"wrote {sum(len(t.messages) for t in shown)} messages of {len(shown)} run(s) to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


async def _runs_to_export(store: Store, args) -> list:
    if args.batch:
        batch = await store.batches.get(parse_id(args.batch, "batch"))
        found = await store.conversations.statuses_in_batch(batch.id)  # a deleted cell has nothing to export
        return [c.conversation_id for c in batch.cells if c.conversation_id in found]
    experiment = await find_experiment(store, args.experiment)
    return [row.id for row in reversed(await store.conversations.rows(experiment_id=experiment.id))]


async def _scores(store: Store, cid) -> dict[int, dict[str, float]]:
    """A run's stored scores by message index, named as the analysis names its columns."""
    by_index: dict[int, dict[str, float]] = {}
    for stored in await store.scores.for_conversation(cid):
        by_index.setdefault(stored.index, {}).update({column(stored.scorer, n): v for n, v in stored.scores.items()})
    return by_index
