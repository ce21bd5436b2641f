"""Command-line values, checked when they are parsed: whole numbers, numbers in a range, server URLs.

Python's int() reads "٣" (an Arabic-Indic three) and float() reads "nan" and "inf": a budget
of NaN or a count in another script's digits is refused here, with the allowed range, before
any command starts. The rules are simulator/core/parsing.py's, shared with the settings, the
files and the menus; the ranges also appear in `--help`.
"""

from __future__ import annotations

import argparse
from typing import Callable

from simulator.core.parsing import describe_range, parse_number, parse_server_url, parse_whole


def whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            return parse_whole(text, low, high)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "whole number"
    parse.allowed = describe_range(low, high)  # type: ignore[attr-defined]
    return parse


def number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            return parse_number(text, low, high, low_open=low_open)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "number"
    parse.allowed = describe_range(low, high, low_open)  # type: ignore[attr-defined]
    return parse


def server_url(text: str) -> str:
    """A model server's URL given on the command line (--endpoints)."""
    try:
        return parse_server_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a usable server URL: {exc}") from None


server_url.__name__ = "server URL"


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line of ours (and a hint), not the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


# The ranges the commands share (each shown in its flag's --help).
MAX_CELLS = 100_000  # a batch's conversations; see simulator/batch/plan.py for the cap on a plan
SEED = whole(0, 2**31 - 1)
ATTEMPTS = whole(1, 100)
TIMEOUT = number(0, 3600, low_open=True)
CONCURRENCY = whole(1, 1024)
MESSAGES = whole(1, 100_000)
DAYS = whole(1, 100_000)
REPEAT = whole(1, MAX_CELLS)
TOKENS = whole(1, 10**12)
DOLLARS = number(0, 10**6, low_open=True)
SECONDS = number(0, 10**7, low_open=True)
WORKERS = whole(1, 256)
PORT = whole(0, 65535)
