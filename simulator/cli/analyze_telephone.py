"""`simulator analyze telephone BATCH_ID | --model M --instruction I [-o DIR]`: attractors, figures, CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.cli.batch_commands import batch_id_of
from simulator.config import Settings
from simulator.cli.render import shown
from simulator.cli.values import whole
from simulator.errors import ValidationError
from simulator.store import connect


def register(analyses: argparse._SubParsersAction) -> None:
    p = analyses.add_parser("telephone", help="attractors, cumulativeness and figures of telephone chains",
                            description="Analyse the chains of a batch, or every chain of a model and instruction "
                                        "(imported chains are model published/NAME).")
    p.add_argument("batch", nargs="?", help="a telephone batch id")
    p.add_argument("--model", help="model spec, e.g. ollama/smollm2:135m or published/gpt-4o")
    p.add_argument("--instruction", help="rephrase, inspiration, continue, or an imported chain's instruction")
    p.add_argument("--intermediate", type=whole(1, 100_000), default=10,
                   help="the intermediate generation whose attractor is also computed (default 10)")
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
        raise ValidationError("give a batch id, or both --model and --instruction")
    if args.intermediate < 1:
        raise ValidationError(f"--intermediate must be at least 1, got {args.intermediate}")
    from simulator.actions.telephone_analysis import analyse, load_chains  # matplotlib: only when analysing

    folder = output_folder(args)
    async with await connect(settings) as store:
        chains = await load_chains(store, batch_id=batch_id_of(args.batch) if args.batch else None,
                                   model=args.model, instruction=args.instruction)
    result = analyse(chains, folder, intermediate=args.intermediate)
    console = Console()
    table = Table(title=f"Attractors of {len(chains)} telephone chains (similarity: {result.similarity_backend})")
    for column in ("model", "instruction", "metric", "generation", "chains", "position", "strength", "slope", "p"):
        table.add_column(column, justify="right" if column in ("position", "strength", "slope", "p") else "left")
    for row in result.rows:
        r = row.result
        table.add_row(shown(row.model), shown(row.instruction), row.metric, str(row.generation), str(row.chains),
                      f"{r.position:.3g}", f"{r.strength:.3f}", f"{r.slope:.3f}", f"{r.p_value:.3g}")
    console.print(table)
    csvs = sum(f.suffix == ".csv" for f in result.files)
    console.print(f"wrote {csvs} CSV files and {len(result.files) - csvs} figures to {folder}", highlight=False)
    return 0
