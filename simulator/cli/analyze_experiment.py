"""`simulator analyze experiment ID [--batch B] [--by model,variant.goal] [--score S] [-o DIR]`.

Loads the experiment's runs (or one batch's) with their scores and labels, prints the
tables, and writes every table as CSV and the figures as PNG into DIR (default
./analysis-<experiment id>). A bad --by or --score is refused before anything is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.config import Settings


def register(analyses: argparse._SubParsersAction) -> None:
    p = analyses.add_parser("experiment", help="toxicity per role, persuasion, agreement and regressions of a role "
                                               "experiment's runs: tables, CSV and figures")
    p.add_argument("experiment", help="experiment id or name; or a batch id, or one conversation's id")
    p.add_argument("--batch", help="only this batch's conversations")
    p.add_argument("--by", default="", help="group by these factors, comma-separated (default: model and every "
                                            "variant, e.g. model,variant.goal; also agents.ROLE, days, batch_id)")
    p.add_argument("--score", action="append", default=[],
                   help="score columns to show, e.g. classifier.toxicity (repeat for several; default: every score, "
                        "moderation's harassment and violence); the first is the one figures and the OLS use")
    p.add_argument("-o", "--output", type=Path, help="folder for the CSV files and figures "
                                                     "(default ./analysis-<experiment id>)")
    p.set_defaults(handler=analyze_command)


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


async def analyze_command(args, settings: Settings) -> int:
    # pandas, statsmodels and matplotlib are imported here, not when any `simulator` command starts
    from rich.console import Console

    from simulator.actions.analysis import analyse_experiment
    from simulator.actions.experiment_runs import runs_of
    from simulator.core.ids import is_id
    from simulator.cli.report_render import print_analysis
    from simulator.store import connect

    async with await connect(settings) as store:
        stored, runs = await runs_of(store, args.experiment, args.batch)
        named = args.experiment if is_id(args.experiment) else str(stored.id)  # a batch's or a run's own folder
        output = args.output or Path(f"analysis-{named}")
        analysis = await analyse_experiment(store, args.experiment, args.batch, by=split(args.by),
                                            scores=[s for text in args.score for s in split(text)], output=output)
    console = Console()
    console.print(f"analysed {len(runs)} run(s) of experiment {stored.experiment.name!r} ({args.experiment})",
                  highlight=False, markup=False)
    print_analysis(console, analysis)
    return 0
