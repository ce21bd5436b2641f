"""`simulator fork | provenance | reproduce`: counterfactual forks, a run's provenance, exact reproduction."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bson import ObjectId
from rich.console import Console

from simulator.actions import conversations as actions
from simulator.actions.forks import (ForkChanges, RolePrompt, conditions, create_fork_batch, create_forks,
                                     same_protocol)
from simulator.actions.provenance import provenance
from simulator.actions.reproduce import reproduce
from simulator.cli.batch_commands import add_worker_flags, execute
from simulator.cli.conversation_commands import add_model_options, model_settings, run_and_report
from simulator.cli.provenance_render import provenance_lines
from simulator.cli.values import REPEAT, SEED, number, whole
from simulator.config import Settings
from simulator.core.conversation import Conversation
from simulator.errors import ValidationError
from simulator.store import connect

AT = whole(0, 100_000)
TEMPERATURE = number(0, 2)
TOP_P = number(0, 1)
TOP_K = whole(1, 100_000)
MAX_TOKENS = whole(1, 100_000)
MAX_PROMPT_BYTES = 1_000_000


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("fork", help="continue a stored conversation from message K under changed conditions",
                            description="A new conversation whose messages 0..K-1 are the source's, continued to "
                                        "the source's length with other models, sampling or prompts. Several "
                                        "sources, --llm or --temperature values, or --repeat over 1 make a batch.")
    p.add_argument("conversations", nargs="+", metavar="CONVERSATION", help="the source(s) to fork")
    p.add_argument("--at", type=AT, required=True, help="the first message the fork writes itself (0 to n-1)")
    p.add_argument("--llm", action="append", default=[], metavar="[TARGET=]SPEC",
                   help="the model from K on: of every participant, or of those with the role or name TARGET; "
                        "give several for a sweep")
    p.add_argument("--temperature", type=TEMPERATURE, action="append", default=[],
                   help="sampling temperature from K on (0 to 2); give several for a sweep")
    p.add_argument("--top-p", type=TOP_P, help="nucleus sampling from K on (0 to 1)")
    p.add_argument("--top-k", type=TOP_K, help="top-k sampling from K on (at least 1)")
    p.add_argument("--max-tokens", type=MAX_TOKENS, help="longest reply from K on (at least 1)")
    p.add_argument("--role-prompt", action="append", default=[], metavar="ROLE=FILE",
                   help="the system prompt of every participant with ROLE from K on: the file's text as it is")
    p.add_argument("--repeat", type=REPEAT, default=1, help="forks per source and condition, each with its own "
                                                           "seed (default 1)")
    p.add_argument("--seed", type=SEED, help="seed of the first fork (the next ones count up; default random)")
    p.add_argument("--no-run", action="store_true", help="store the forks pending; run them with resume or "
                                                         "batch resume")
    add_model_options(p)
    add_worker_flags(p)
    p.set_defaults(handler=fork_command)

    p = commands.add_parser("provenance", help="print what a conversation was made with (versions, models, calls)")
    p.add_argument("conversation")
    p.add_argument("--calls", action="store_true", help="list every recorded call (options, seed, hashes)")
    p.add_argument("--json", action="store_true", help="the whole record as JSON")
    p.set_defaults(handler=provenance_command)

    p = commands.add_parser("reproduce", help="run a conversation again and say whether it came out identical")
    p.add_argument("conversation")
    p.add_argument("--live", action="store_true", help="call the models again instead of answering from the "
                                                       "recorded calls")
    add_model_options(p)
    p.set_defaults(handler=reproduce_command)


def role_prompts(values: list[str]) -> tuple[RolePrompt, ...]:
    """`ROLE=FILE` pairs read now, so a missing or unreadable file is one line before anything is written."""
    prompts = []
    for value in values:
        role, sep, path = value.partition("=")
        if not sep or not role or not path:
            raise ValidationError(f"--role-prompt {value!r}: expected ROLE=FILE")
        file = Path(path).expanduser()
        try:
            if file.stat().st_size > MAX_PROMPT_BYTES:
                raise ValidationError(f"--role-prompt {role}: {path} is over {MAX_PROMPT_BYTES // 1000} kB")
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"--role-prompt {role}: cannot read {path}: "
                                  f"{getattr(exc, 'strerror', None) or exc}") from None
        if not text.strip():
            raise ValidationError(f"--role-prompt {role}: {path} is empty")
        prompts.append(RolePrompt(role, file.name, text))
    return tuple(prompts)


async def fork_command(args, settings: Settings) -> int:
    base = ForkChanges(top_p=args.top_p, top_k=args.top_k, max_tokens=args.max_tokens,
                       role_prompts=role_prompts(args.role_prompt))
    sweep = conditions(args.llm, args.temperature, base)
    console = Console()
    async with await connect(settings) as store:
        sources: list[Conversation] = [await store.conversations.get(actions.conversation_id(c))
                                       for c in dict.fromkeys(args.conversations)]
        as_batch = len(sources) * len(sweep) * args.repeat > 1
        if as_batch:
            same_protocol(sources)
        batch_id = ObjectId() if as_batch else None
        forks = await create_forks(store, store.user, sources, args.at, sweep, args.repeat,
                                   settings.model_aliases, args.seed, batch_id)
        for fork in forks:
            console.print(f"fork {fork.conversation_id} of {fork.source} at {args.at}: {fork.condition}",
                          highlight=False)
        if batch_id is not None:
            await create_fork_batch(store, store.user, sources, forks, batch_id, args.at)
            console.print(f"batch {batch_id}: {len(forks)} forks", highlight=False)
            return 0 if args.no_run else await execute(store, settings, args, batch_id)
        if args.no_run:
            return 0
        return await run_and_report(store, settings, args, forks[0].conversation_id, console)


async def provenance_command(args, settings: Settings) -> int:
    async with await connect(settings) as store:
        record = await provenance(store, actions.conversation_id(args.conversation))
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    for line in provenance_lines(record, calls=args.calls):
        print(line)
    return 0


async def reproduce_command(args, settings: Settings) -> int:
    console = Console()
    async with await connect(settings) as store:
        source_id = actions.conversation_id(args.conversation)
        result = await reproduce(store, settings, source_id, model_settings(args), live=args.live)
    console.print(f"reproduction {result.conversation_id} of {source_id}: {result.outcome.status.value} "
                  f"({result.outcome.reason})", highlight=False)
    if result.identical:
        print("identical")
        return 0
    print(f"different: {result.difference.line() if result.difference else result.outcome.reason}")
    return 1
