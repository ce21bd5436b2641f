"""`simulator analyze ...`: one subcommand per kind of analysis, each in its own module."""

from __future__ import annotations

import argparse

from simulator.cli import analyze_experiment, analyze_learning, analyze_telephone

ANALYSES = [analyze_experiment, analyze_telephone, analyze_learning]


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("analyze", help="turn runs into tables, CSV files and figures")
    sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    for module in ANALYSES:
        module.register(sub)
