"""`simulator run | resume | show | export | conversations`: one conversation at a time."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from rich.console import Console

from simulator.actions import conversations as actions
from simulator.actions.browse import transcript
from simulator.actions.experiments import find as find_experiment, import_file
from simulator.cli.arguments import parse_assignments
from simulator.cli.render import LiveTranscript, print_conversation
from simulator.config import Settings
from simulator.engine.context import VIEWS
from simulator.engine.selection import METHODS
from simulator.errors import ValidationError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.store import Status, Store, connect


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--attempts", type=int, default=4, help="tries per model call (default 4)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per try (default 120)")
    parser.add_argument("--concurrency", type=int, default=4, help="model calls at once per endpoint (default 4)")
    parser.add_argument("--replay", action="store_true", help="answer from recorded calls only, no model server")
    parser.add_argument("--no-record", action="store_true", help="do not record calls for later replay")
    parser.add_argument("--wall-clock", type=float, help="pause (resumably) after this many seconds")


def model_settings(args: argparse.Namespace) -> ModelSettings:
    mode = CallMode.REPLAY if args.replay else CallMode.LIVE if args.no_record else CallMode.RECORD
    return ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout),
                         concurrency=args.concurrency, mode=mode)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("run", help="run one conversation of an experiment, showing turns live")
    p.add_argument("experiment", help="experiment id or name, or a .yaml/.json file (imported first)")
    p.add_argument("--llm", help="model spec (or 1-based index of the experiment's LLM settings); default the first")
    p.add_argument("--agents", required=True, help="agents per role, e.g. guard=1,prisoner=2")
    p.add_argument("--messages", type=int, required=True, help="total messages")
    p.add_argument("--days", type=int, default=1, help="days the messages are split over (default 1)")
    p.add_argument("--speaker", default="round_robin", choices=METHODS, help="speaker selection (default round_robin)")
    p.add_argument("--view", default="shared", choices=VIEWS, help="what each speaker sees (default shared)")
    p.add_argument("--last-k", type=int, default=10, help="messages seen with --view last_k (default 10)")
    p.add_argument("--seed", type=int, help="seed for names, speaker order and sampling (default random, stored)")
    p.add_argument("--variant", default="", help="variant choices, e.g. goal=yard_time")
    p.add_argument("--stop-keyword", help="stop when a message contains this (e.g. ^C^C)")
    p.add_argument("--detect-cycles", action="store_true", help="stop when the last messages repeat in a cycle")
    p.add_argument("--budget-tokens", type=int, help="stop after this many tokens")
    p.add_argument("--budget-cost", type=float, help="stop after this many dollars")
    add_model_options(p)
    p.set_defaults(handler=run_command)

    p = commands.add_parser("resume", help="continue a failed, stopped or killed conversation")
    p.add_argument("conversation")
    add_model_options(p)
    p.set_defaults(handler=resume_command)

    p = commands.add_parser("show", help="print a conversation with day headers and summaries")
    p.add_argument("conversation")
    p.set_defaults(handler=show_command)

    p = commands.add_parser("export", help="write a conversation as txt, jsonl or csv")
    p.add_argument("conversation")
    p.add_argument("--format", choices=("txt", "jsonl", "csv"), default="txt")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    p.set_defaults(handler=export_command)


async def experiment_for(store: Store, settings: Settings, reference: str):
    """An experiment by id or name, or a file path, imported first."""
    path = Path(reference)
    if reference.lower().endswith((".yaml", ".yml", ".json")) and path.is_file():
        return await import_file(store, settings.user, path)
    return await find_experiment(store, reference)


async def run_command(args, settings: Settings) -> int:
    console = Console()
    request_counts = parse_assignments(args.agents, "--agents", integer=True)
    variants = parse_assignments(args.variant, "--variant") if args.variant.strip() else {}
    async with await connect(settings) as store:
        stored = await experiment_for(store, settings, args.experiment)
        request = actions.ConversationRequest(
            llm=actions.choose_llm(stored, args.llm), agent_counts=request_counts, n_messages=args.messages,
            days=args.days, speaker_selection=args.speaker, view=args.view, last_k=args.last_k, seed=args.seed,
            variants=variants, stop_keyword=args.stop_keyword, detect_cycles=args.detect_cycles,
            token_budget=args.budget_tokens, cost_budget=args.budget_cost)
        cid = await actions.create(store, settings.user, stored, request)
        console.print(f"conversation {cid} ({stored.experiment.name}, {request.llm.label()})", highlight=False)
        return await _run(store, settings, args, cid, console)


async def resume_command(args, settings: Settings) -> int:
    console = Console()
    async with await connect(settings) as store:
        cid = actions.conversation_id(args.conversation)
        doc = await store.conversations.get(cid)
        done = await store.messages.first_missing_index(cid)
        console.print(f"resuming {cid} at message {done} of {doc['n_messages']} (was {doc['status']})",
                      highlight=False)
        return await _run(store, settings, args, cid, console, first_day_shown=-1)


async def _run(store: Store, settings: Settings, args, cid, console: Console, first_day_shown: int = -1) -> int:
    doc = await store.conversations.get(cid)
    observer = LiveTranscript(console, (a["role"] for a in doc["agents"]), doc["days"], first_day_shown)
    chooser = manual_chooser(console) if doc["speaker_selection"] == "manual" else None
    options = model_settings(args)
    outcome = await actions.run(store, settings, cid, options, observer=observer, chooser=chooser,
                                wall_clock=args.wall_clock)
    tokens = options.meter.prompt_tokens + options.meter.completion_tokens
    console.print(f"{outcome.status.value}: {outcome.reason} — {outcome.messages} messages stored, "
                  f"{tokens} tokens this run. Conversation {cid}", highlight=False)
    if outcome.status is Status.FAILED:
        print(f"error: conversation {cid} failed: {outcome.reason} (resume with: simulator resume {cid})",
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
    print_conversation(Console(), shown.doc, shown.messages, shown.summaries)
    return 0


async def export_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        shown = await transcript(store, actions.conversation_id(args.conversation))
    text = render_export(args.format, shown.doc, shown.messages, shown.summaries)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(shown.messages)} messages to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def render_export(fmt: str, doc: dict, messages: list, summaries: list[dict]) -> str:
    if fmt == "jsonl":
        lines = [json.dumps({"conversation_id": str(doc["_id"]), "index": m.index, "day": m.day, "speaker": m.speaker,
                             "role": m.role, "content": m.content, "raw_content": m.raw_content, "usage": m.usage,
                             "latency": m.latency, "created_at": m.created_at.isoformat()}, ensure_ascii=False)
                 for m in messages]
        lines += [json.dumps({"conversation_id": str(doc["_id"]), "summary_of_day": s["day"], "content": s["content"]},
                             ensure_ascii=False) for s in summaries]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["conversation_id", "index", "day", "speaker", "role", "content", "raw_content",
                         "prompt_tokens", "completion_tokens", "latency"])
        for m in messages:
            writer.writerow([str(doc["_id"]), m.index, m.day, m.speaker, m.role, m.content, m.raw_content,
                             m.usage.get("prompt_tokens", 0), m.usage.get("completion_tokens", 0), m.latency])
        return out.getvalue()
    by_day = {s["day"]: s["content"] for s in summaries}
    lines = [f"# {doc.get('experiment_name', '')} — conversation {doc['_id']}", "", doc["starting_message"], ""]
    day = None
    for m in messages:
        if m.day != day:
            if day is not None and day in by_day:
                lines += ["", f"[Summary of day {day + 1}] {by_day[day]}"]
            day = m.day
            lines += ["", f"== Day {day + 1} =="]
        lines.append(f"{m.speaker}: {m.content}")
    if day is not None and day in by_day:
        lines += ["", f"[Summary of day {day + 1}] {by_day[day]}"]
    return "\n".join(lines) + "\n"
