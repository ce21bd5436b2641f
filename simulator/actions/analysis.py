"""Analysing a role experiment: load its runs as DataFrames, compute the report, write CSV and figures.

Also the API for notebooks. In a notebook:

    from simulator.actions.analysis import load
    data = load("Prison yard")                 # an experiment's id or name; batch="..." for one batch
    data.messages                              # one row per message, factors and scores as columns
    data.conversations                         # one row per conversation, with its final label
    data.messages.groupby(["model", "role"])["classifier.toxicity"].mean()

`load` reads the settings as the commands do (environment, then .env) and works inside a
running event loop (Jupyter) as well as outside one; `await load_experiment(store, ...)` is the
same for async code that already holds a Store. `simulator analyze experiment` and the menus'
"Analyse" are built on these functions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from simulator import aio
from simulator.actions.experiment_runs import runs_of
from simulator.analysis import figures
from simulator.analysis.frames import ExperimentData, experiment_frames
from simulator.analysis.report import Report, experiment_report
from simulator.config import Settings, load_settings
from simulator.core.conversation import Conversation
from simulator.core.csv_cells import safe_frame
from simulator.errors import ValidationError
from simulator.store import Store, connect


async def load_runs(store: Store, conversations: Sequence[Conversation]) -> ExperimentData:
    """These conversations with their messages, scores and labels, as frames."""
    ids = [c.id for c in conversations]
    messages = {c.id: await store.messages.list(c.id) for c in conversations}
    return experiment_frames(conversations, messages, await store.scores.for_conversations(ids),
                             await store.labels.for_conversations(ids))


async def load_experiment(store: Store, experiment: str, batch: str | None = None) -> ExperimentData:
    """An experiment's runs (id or name), or one batch's, as frames."""
    _, conversations = await runs_of(store, experiment, batch)
    return await load_runs(store, conversations)


def load(experiment: str, batch: str | None = None, settings: Settings | None = None) -> ExperimentData:
    """The notebook entry point: `load_experiment` with its own connection, from sync code or inside Jupyter."""
    settings = settings or load_settings()

    async def work() -> ExperimentData:
        async with await connect(settings) as store:
            return await load_experiment(store, experiment, batch)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return aio.run(work())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a notebook's loop is running: use another thread
        return pool.submit(aio.run, work()).result()


@dataclass(frozen=True)
class Analysis:
    data: ExperimentData
    report: Report
    folder: Path | None
    csv_files: list[Path]
    figures: list[Path]
    figure_notes: list[str] = field(default_factory=list)  # why a figure was not drawn, one line each


async def analyse_experiment(store: Store, experiment: str, batch: str | None = None, *,
                             by: Sequence[str] | None = None, scores: Sequence[str] | None = None,
                             output: Path | None = None) -> Analysis:
    """The report of an experiment's runs; with `output`, every table as CSV and the figures as PNG there.

    Everything is computed and the folder checked before the first file is written.
    """
    data = await load_experiment(store, experiment, batch)
    report = experiment_report(data, by, scores)
    if output is None:
        return Analysis(data, report, None, [], [])
    folder = writable_folder(output)
    csv_files = write_tables(report, folder)
    drawn, notes = draw_figures(data, report, folder)
    return Analysis(data, report, folder, csv_files, drawn, notes)


def writable_folder(path: Path) -> Path:
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise ValidationError(f"{path} is a file, not a folder")
    if not path.exists() and not path.parent.exists():
        raise ValidationError(f"the folder {path.parent} does not exist")
    path.mkdir(exist_ok=True)
    return path


def write_tables(report: Report, folder: Path) -> list[Path]:
    """Every table as CSV; a table with nothing to show holds its notes (why the fit was not made), not nothing."""
    written = []
    for table in report.tables:
        path = folder / f"{table.name}.csv"
        frame = table.frame if not table.frame.empty or not table.notes else pd.DataFrame({"note": table.notes})
        safe_frame(frame).to_csv(path, index=False)  # no cell a spreadsheet runs (core/csv_cells.py)
        written.append(path)
    return written


def draw_figures(data: ExperimentData, report: Report, folder: Path) -> tuple[list[Path], list[str]]:
    """The figures drawn, and one line for each that was not, saying why."""
    drawn = [figures.toxicity_over_conversation(data, report.scores[0], folder / "toxicity_over_conversation.png")
             if report.scores else "toxicity_over_conversation.png not drawn: no score asked for",
             figures.persuasion(report.table("persuasion").frame, report.by, folder / "persuasion.png"),
             figures.agreement(data, report.table("agreement").frame, folder / "agreement.png")]
    return [d for d in drawn if isinstance(d, Path)], [d for d in drawn if isinstance(d, str)]
