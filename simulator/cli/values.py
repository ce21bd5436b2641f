"""Command-line values, checked when they are parsed: whole numbers and numbers in a range.

Python's int() reads "٣" (an Arabic-Indic three) and float() reads "nan" and "inf": a budget
of NaN or a count in another script's digits is refused here, with the allowed range, before
any command starts. The ranges also appear in `--help`.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Callable

WHOLE = re.compile(r"[+-]?[0-9]+")
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _range(low: float, high: float, low_open: bool) -> str:
    return f"more than {low:g}, at most {high:g}" if low_open else f"{low:g} to {high:g}"


def whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not WHOLE.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (allowed: {_range(low, high, False)})")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range (allowed: {_range(low, high, False)})")
        return value

    parse.__name__ = "whole number"
    parse.allowed = _range(low, high, False)  # type: ignore[attr-defined]
    return parse


def number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        if not NUMBER.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number (allowed: {_range(low, high, low_open)})")
        value = float(text)
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"{text} is out of range (allowed: {_range(low, high, low_open)})")
        return value

    parse.__name__ = "number"
    parse.allowed = _range(low, high, low_open)  # type: ignore[attr-defined]
    return parse


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
