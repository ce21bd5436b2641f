"""`simulator analyze iterated-learning BATCH|CONVERSATION|EXPERIMENT [-o DIR]`: the biased share, accuracies and, from the
log-probabilities where the runs have them, the posterior's entropy per generation."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.cli.analyze_telephone import writable_folder
from simulator.actions.run_target import find_runs
from simulator.config import Settings
from simulator.cli.render import shown
from simulator.store import connect


def register(analyses: argparse._SubParsersAction) -> None:
    p = analyses.add_parser("iterated-learning",
                            help="the biased share, rule accuracy and posterior entropy per generation and filter")
    p.add_argument("target", help="a batch id, a conversation id (one chain) or an experiment (id or name)")
    p.add_argument("-o", "--output", type=Path, help="folder for the CSV files and the figures")
    p.set_defaults(handler=learning_command)


def fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


async def learning_command(args, settings: Settings) -> int:
    from simulator.actions.learning_analysis import analyse, load_records  # matplotlib: only when analysing

    async with await connect(settings) as store:
        target = await find_runs(store, args.target, "iterated_learning", "iterated-learning")
        rows = await load_records(store, target.conversations)
    folder = writable_folder(args.output or Path("analysis") / f"iterated-learning-{target.id}")
    result = analyse(rows, folder)
    posterior = result.note is None
    Console().print(f"analysed {target.describe()}", highlight=False)
    table = Table(title=f"Iterated learning, {target.kind} {target.id}")
    for column in ("filter", "generation", "chains", "readable rules", "biased share", "accuracy (truth)",
                   "accuracy (original examples)", "invalid replies",
                   *(("posteriors", "entropy", "biased mass") if posterior else ())):
        table.add_column(column)
    for s in result.shares:
        table.add_row(shown(s.filter), str(s.generation), str(s.chains), str(s.valid), fraction(s.biased_share),
                      fraction(s.accuracy_truth), fraction(s.accuracy_examples), str(s.invalid),
                      *((str(s.posteriors), fraction(s.entropy), fraction(s.biased_mass)) if posterior else ()))
    console = Console()
    console.print(table)
    for line in (result.note, *result.skipped):
        if line:
            console.print(line, highlight=False, soft_wrap=True)  # one line, however narrow the terminal
    console.print(f"wrote {len(result.files)} files to {folder}", highlight=False)
    return 0
