"""The `simulator` command: parse arguments, run one command, turn errors into one line.

Commands live in small modules that each add their subparsers; no business logic here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Callable, Sequence

from simulator import __version__, aio
from simulator.cli import (analyze_commands, batch_commands, conversation_commands, db_commands,
                           experiment_commands, models_commands, protocol_commands)
from simulator.cli import label_commands, score_commands
from simulator.cli import explore_commands, lists
from simulator.cli import fork_commands
from simulator.cli import import_commands
from simulator.cli import publish_commands
from simulator.cli import search_commands
from simulator.cli.values import Parser
from simulator.config import load_settings
from simulator.errors import SimulatorError
from simulator.logs import get_logger, setup_logging
from simulator.secrets import ScrubbingStream

log = get_logger("cli")

COMMAND_MODULES = [db_commands, models_commands, experiment_commands, protocol_commands, conversation_commands,
                   batch_commands, analyze_commands]
COMMAND_MODULES += [score_commands, label_commands]
COMMAND_MODULES += [explore_commands, lists]
COMMAND_MODULES += [fork_commands]  # fork, provenance, reproduce (issue 25)
COMMAND_MODULES += [import_commands]  # import legacy (issue 22)
COMMAND_MODULES += [publish_commands]  # a static site (issue 25)
COMMAND_MODULES += [search_commands]  # message search (issue 26)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="simulator",
        description="Design, run and analyse conversations between LLM agents, stored in MongoDB.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # every line the commands write passes the scrubber (simulator/secrets.py), whatever prints it
    if not isinstance(sys.stdout, ScrubbingStream):
        sys.stdout, sys.stderr = ScrubbingStream(sys.stdout), ScrubbingStream(sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable | None = getattr(args, "handler", None)
    if handler is None:
        if not (sys.argv[1:] if argv is None else argv):  # `simulator` alone opens the menus
            from simulator.cli.menus.app import run as run_menus

            return run_menus()
        parser.print_help()
        return 0
    try:
        settings = load_settings()
        setup_logging(settings.secrets())
        result = handler(args, settings)
        if asyncio.iscoroutine(result):
            result = aio.run(result)
        return int(result or 0)
    except SimulatorError as exc:
        log.info("command failed: %s", exc.one_line())
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    except aio.Terminated:
        print("terminated (SIGTERM); what was running is marked stopped and can be resumed", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line on screen, the traceback in the log
        log_path = setup_logging([])
        log.exception("unexpected error")
        print(f"unexpected error: {type(exc).__name__} (details in {log_path})", file=sys.stderr)
        return 1


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
