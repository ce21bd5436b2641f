"""`simulator explore`: the browser explorer over the configured database (simulator/web)."""

from __future__ import annotations

import argparse

from simulator.cli.values import PORT
from simulator.config import Settings
from simulator.web import DEFAULT_HOST, DEFAULT_PORT


def register(commands: argparse._SubParsersAction) -> None:
    explore = commands.add_parser(
        "explore", help="browse experiments, conversations, batches and analyses in a web browser (read-only)",
        description="Serve a local, read-only web explorer over the configured database (same login as the "
                    "other commands). Bound to 127.0.0.1 by default; any other address needs a token on every "
                    "request (--token, or one generated and printed once).")
    explore.add_argument("--port", type=PORT, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; "
                                                                          "0 picks a free one)")
    explore.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    explore.add_argument("--token", help="token every request must carry (generated when --host is not loopback)")
    explore.add_argument("--open", action="store_true", help="open the explorer in the default browser")
    explore.add_argument("--annotate", action="store_true",
                         help="annotation mode: label outcomes of experiments' runs as yourself (your database login, "
                              "else SIM_USER or your OS login), compare, adjudicate; without it the explorer is read-only")
    explore.set_defaults(handler=explore_command)


async def explore_command(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.web.server import serve  # the web stack loads only for this command

    await serve(settings, host=args.host, port=args.port, token=args.token, open_browser=args.open,
                annotate=args.annotate)
    return 0
