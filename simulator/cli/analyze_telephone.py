"""`simulator analyze telephone BATCH|CONVERSATION|EXPERIMENT | --model M --instruction I [--metrics ...] [-o DIR]`.

Attractors, figures and CSV of telephone chains, measured with the project's definitions or, with
`--metrics study`, the telephone study's own (simulator/analysis/telephone_study.py), whose toxicity
comes only from a Detoxify or ToxiGen checkpoint given with `--local-classifier DIR`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.actions.run_target import find_runs
from simulator.config import Settings
from simulator.cli.render import shown
from simulator.cli.values import whole
from simulator.errors import ValidationError
from simulator.store import connect


def register(analyses: argparse._SubParsersAction) -> None:
    p = analyses.add_parser("telephone", help="attractors, cumulativeness and figures of telephone chains",
                            description="Analyse the chains of a batch, or every chain of a model and instruction "
                                        "(imported chains are model published/NAME).")
    p.add_argument("batch", nargs="?", metavar="TARGET",
                   help="a batch id, a conversation id (one chain) or an experiment (id or name)")
    p.add_argument("--model", help="model spec, e.g. ollama/smollm2:135m or published/gpt-4o")
    p.add_argument("--instruction", help="rephrase, inspiration, continue, or an imported chain's instruction")
    p.add_argument("--intermediate", type=whole(1, 100_000), default=10,
                   help="the intermediate generation whose attractor is also computed (default 10)")
    p.add_argument("--metrics", choices=("project", "study"), default="project",
                   help="project: this project's definitions (default); study: the telephone study's own "
                        "(textstat 0.7.3 Gunning fog, NLTK's VADER, length without hashtags fitted on generation 1)")
    p.add_argument("--local-classifier", type=Path, metavar="DIR",
                   help="with --metrics study: a Detoxify or ToxiGen checkpoint folder for the toxicity column "
                        "(needs the local-classifier extra); without it toxicity is left out")
    p.add_argument("-o", "--output", type=Path, help="folder for the CSV files and figures (default analysis/...)")
    p.set_defaults(handler=telephone_command)


def writable_folder(folder: Path) -> Path:
    """The output folder, created before any work, so a bad destination fails at once."""
    if folder.exists() and not folder.is_dir():
        raise ValidationError(f"-o {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"-o {folder}: cannot create it ({exc.strerror or exc})") from None
    return folder


def output_folder(args) -> Path:
    name = f"telephone-{args.batch}" if args.batch else f"telephone-{args.model}-{args.instruction}"
    return writable_folder(args.output or Path("analysis") / "".join(c if c.isalnum() or c in "-._" else "-"
                                                                     for c in name))


async def telephone_command(args, settings: Settings) -> int:
    if bool(args.batch) == bool(args.model or args.instruction) or (not args.batch and not
                                                                     (args.model and args.instruction)):
        raise ValidationError("give a batch or conversation id, or both --model and --instruction")
    if args.intermediate < 1:
        raise ValidationError(f"--intermediate must be at least 1, got {args.intermediate}")
    if args.local_classifier and args.metrics != "study":
        raise ValidationError("--local-classifier goes with --metrics study (the project's toxicity is its own "
                              "offline classifier)")
    from simulator.actions.telephone_analysis import analyse, chains_of, load_chains, study_definitions  # matplotlib

    folder = output_folder(args)
    async with await connect(settings) as store:
        if args.batch:
            target = await find_runs(store, args.batch, "telephone", "telephone")
            chains = await chains_of(store, target.conversations)
            Console().print(f"analysed {target.describe()}", highlight=False)
        else:
            chains = await load_chains(store, model=args.model, instruction=args.instruction)
    definitions = await study_definitions(chains, args.local_classifier) if args.metrics == "study" else None
    result = analyse(chains, folder, intermediate=args.intermediate, definitions=definitions)
    console = Console()
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    table = Table(title=f"Attractors of {len(chains)} telephone chains ({result.definitions} definitions; "
                        f"similarity: {result.similarity_backend})")
    for column in ("model", "instruction", "metric", "on", "generation", "chains", "position", "strength", "slope",
                   "p"):
        table.add_column(column, justify="right" if column in ("position", "strength", "slope", "p") else "left")
    for row in result.rows:
        r = row.result
        table.add_row(shown(row.model), shown(row.instruction), row.metric, str(row.start), str(row.generation),
                      str(row.chains), f"{r.position:.3f}", f"{r.strength:.3f}", f"{r.slope:.3f}", f"{r.p_value:.3g}")
    console.print(table)
    csvs = sum(f.suffix == ".csv" for f in result.files)
    console.print(f"wrote {csvs} CSV files and {len(result.files) - csvs} figures to {folder}", highlight=False)
    return 0
