"""`simulator analyze experiment`: (being built)."""

from __future__ import annotations

import argparse


def register(analyses: argparse._SubParsersAction) -> None:
    """Adds the `experiment` analysis; filled in by its issue."""
