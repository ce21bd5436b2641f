"""One command per registered protocol (`simulator run`, `simulator chatroom`, ...), built from its declaration.

Every option a protocol declares becomes a flag with its range and default in `--help`;
the flags every protocol shares (seed, stops, repeats, model-call settings) are added
here once. One cell runs as a single conversation shown live; several (repeats, or a
flag given more than once) run as a batch through the batch runner.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from pathlib import Path

from rich.console import Console

from simulator.actions import conversations as actions
from simulator.actions.telephone import import_chains
from simulator.actions.experiments import store_new
from simulator.batch.plan import check_plan, create_batch
from simulator.core.assignments import parse_assignments
from simulator.cli.batch_commands import add_worker_flags, execute
from simulator.cli import import_commands
from simulator.cli.conversation_commands import add_model_options, experiment_for, model_settings, run_and_report
from simulator.config import Settings
from simulator.cli.values import DOLLARS, REPEAT, SEED, TOKENS, number, whole
from simulator.core.run_spec import StopSettings
from simulator.core.safe_text import visible
from simulator.errors import ValidationError
from simulator.protocols import PROTOCOLS, Option, Protocol
from simulator.protocols.base import Common
from simulator.store import connect


def register(commands: argparse._SubParsersAction) -> None:
    for protocol in PROTOCOLS.values():
        parser = commands.add_parser(protocol.command, help=protocol.summary, description=protocol.summary)
        if protocol.needs_experiment:
            parser.add_argument("experiment", help="experiment id or name, or a .yaml/.json file (imported first)")
        for option in protocol.asked():
            # with a catalogue flag (--list-templates) or a tool (import) nothing else is needed: plan() checks
            add_flag(parser, option, required=option.required and not protocol.catalogue_flag and not protocol.tools)
        if protocol.tools:
            parser.add_argument("tool", nargs="?", choices=list(protocol.tools),
                                help="; ".join(f"{name}: {text}" for name, text in protocol.tools.items()))
            parser.add_argument("path", nargs="?", help="the folder or file the tool works on")
        if protocol.catalogue_flag:
            parser.add_argument(protocol.catalogue_flag, action="store_true", dest="catalogue",
                                help="list what is shipped and exit")
        add_common_flags(parser)
        add_model_options(parser)
        add_worker_flags(parser)
        parser.set_defaults(handler=functools.partial(protocol_command, protocol))


def add_flag(parser: argparse.ArgumentParser, option: Option, required: bool) -> None:
    shown = option.describe_range()
    default = "" if option.default in (None, {}, ()) or option.kind == "flag" else f"default {option.default}"
    extra = "; ".join(p for p in (shown, default) if p)
    help_text = option.help + (f" ({extra})" if extra else "")
    kwargs: dict[str, Any] = {"dest": option.name, "help": help_text, "required": required}
    if option.kind == "flag":
        kwargs.update(action="store_true", default=None)
        kwargs.pop("required")
    elif option.kind == "texts":
        kwargs.update(nargs="+", action="append" if option.repeatable else "store")
    else:
        kwargs["type"] = flag_type(option)
        if option.kind == "choice":
            kwargs["choices"] = option.choices
        if option.repeatable:
            kwargs["action"] = "append"
    parser.add_argument(option.cli_flag, **kwargs)


def flag_type(option: Option):
    """The strict parser of an option's kind and range (whole numbers in ASCII digits, finite numbers)."""
    low = option.low if option.low is not None else -10**12
    high = option.high if option.high is not None else 10**12
    if option.kind == "int":
        return whole(int(low), int(high))
    if option.kind == "float":
        return number(low, high)
    return str


def value_of(option: Option, raw: Any) -> Any:
    """A flag's value as the protocol takes it: `a=1,b=2` becomes a mapping (checked after parsing, so a
    mistake is one line of ours, not argparse's)."""
    if option.kind in ("counts", "pairs") and isinstance(raw, str):
        if not raw.strip():
            return None
        return parse_assignments(raw, option.cli_flag, integer=option.kind == "counts")
    return raw


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=SEED, help="seed for names, speaker order and sampling (0 to 2147483647; "
                                                   "default random, stored)")
    parser.add_argument("--repeat", type=REPEAT, default=1, help="runs with different seeds, as a batch (default 1)")
    parser.add_argument("--stop-keyword", help="stop when a message contains this (e.g. ^C^C)")
    parser.add_argument("--detect-cycles", action="store_true", help="stop when the last messages repeat in a cycle")
    parser.add_argument("--budget-tokens", type=TOKENS, help="stop a conversation after this many tokens (at least 1)")
    parser.add_argument("--budget-cost", type=DOLLARS, help="stop a conversation after this many dollars (more than 0)")


async def telephone_import(args: argparse.Namespace, settings: Settings) -> int:
    if not args.path:
        raise ValidationError("telephone import needs a folder: simulator telephone import DIR")
    async with await connect(settings) as store:
        report = await import_chains(store, store.user, Path(args.path).expanduser())
    print(f"{report.found} published chains found: {report.stored} stored, {report.already} already stored; "
          f"{report.messages} messages added")
    return 0


TOOLS = {("telephone", "import"): telephone_import}
TOOLS[("backrooms", "import")] = import_commands.backrooms_import  # the backrooms study's logs (actions/imports)
TOOLS[("chatroom", "import")] = import_commands.chatroom_import  # the self-replicating-prompts study's logs


def common_of(args: argparse.Namespace, settings: Settings) -> Common:
    return Common(seed=args.seed, repeats=args.repeat, aliases=settings.model_aliases,
                  stops=StopSettings(keyword=args.stop_keyword, detect_cycles=args.detect_cycles,
                                     token_budget=args.budget_tokens, cost_budget=args.budget_cost))


async def protocol_command(protocol: Protocol, args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "catalogue", False):
        print("\n".join(protocol.catalogue()))
        return 0
    if getattr(args, "tool", None):
        return await TOOLS[(protocol.name, args.tool)](args, settings)
    values = {o.name: value_of(o, getattr(args, o.name)) for o in protocol.asked()}
    console = Console()
    async with await connect(settings) as store:
        stored, new = await experiment_for(store, settings, args.experiment) if protocol.needs_experiment \
            else (None, False)
        plan = protocol.plan(values, common_of(args, settings), stored.experiment if stored else None)
        # everything is checked before anything (the experiment of a file included) is written
        if not plan.axes:
            document = actions.build_document(store.user, plan.base, stored)
            if plan.base.option("speaker_selection") == "manual" and not sys.stdin.isatty():
                raise ValidationError("manual speaker selection needs a terminal", "use another --speaker method")
        else:
            check_plan(plan, stored)
        await actions.preflight(settings, model_settings(args), [c.spec for c in plan.cells()])
        if new:
            await store_new(store, stored)
        if not plan.axes:
            cid = await store.conversations.create(document)
            conversation = await store.conversations.get(cid)
            labels = ", ".join(dict.fromkeys(l.label() for l in conversation.spec.llms))
            console.print(visible(f"conversation {cid} ({conversation.title}, {labels})"), highlight=False,
                          markup=False)
            return await run_and_report(store, settings, args, cid, console)
        planned = await create_batch(store, store.user, stored, plan)
        print(f"batch {planned.id}: {planned.cells} conversations, about {planned.estimated_calls} model calls",
              flush=True)
        return await execute(store, settings, args, planned.id)
