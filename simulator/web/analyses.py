"""The analysis commands' figures and tables, made for a page and kept for a minute.

The same functions as `simulator analyze experiment | telephone | iterated-learning` write the
same CSV and PNG files into a folder of the explorer's own (a temporary folder removed when it
stops); the page shows the tables and figures and offers the CSV files for download. Loading
is async; computing and drawing (pandas, statsmodels, matplotlib) run in a worker thread, one
analysis at a time (pyplot is not thread-safe), so pages and live updates keep answering.
A result is reused for TTL seconds, or made again on request.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Sequence

import pandas as pd
from bson import ObjectId

from simulator.actions import learning_analysis, telephone_analysis
from simulator.actions.analysis import draw_figures, load_experiment, write_tables
from simulator.analysis.report import Report, experiment_report
from simulator.errors import NotFound
from simulator.store import Store

TTL = 60.0
SHOWN_ROWS = 200


@dataclass(frozen=True)
class TableView:
    name: str  # the CSV file's stem
    title: str
    columns: list[str]
    rows: list[list[str]]
    total_rows: int
    notes: Sequence[str] = ()


@dataclass
class AnalysisResult:
    key: str
    title: str
    tables: list[TableView]
    figures: list[str]  # PNG file names
    downloads: list[str]  # CSV file names
    notes: list[str] = field(default_factory=list)
    made: float = field(default_factory=time.time)


def cell_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def frame_table(name: str, title: str, frame: pd.DataFrame, notes: Sequence[str] = ()) -> TableView:
    rows = [[cell_text(v) for v in row] for row in frame.head(SHOWN_ROWS).itertuples(index=False)]
    return TableView(name, title, [str(c) for c in frame.columns], rows, len(frame), tuple(notes))


def csv_table(path: Path) -> TableView:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        columns = next(reader, [])
        rows = list(reader)
    shown = [[cell_text(_number(v)) for v in row] for row in rows[:SHOWN_ROWS]]
    return TableView(path.stem, path.stem.replace("_", " "), columns, shown, len(rows))


def _number(text: str):
    try:
        return float(text) if any(c in text for c in ".eE") else text
    except ValueError:
        return text


def report_result(key: str, title: str, report: Report, files: list[Path]) -> AnalysisResult:
    tables = [frame_table(t.name, t.title, t.frame, t.notes) for t in report.tables]
    return AnalysisResult(key, title, tables, [p.name for p in files if p.suffix == ".png"],
                          [f"{t.name}.csv" for t in report.tables], list(report.notes))


def files_result(key: str, title: str, files: list[Path], notes: list[str] | None = None) -> AnalysisResult:
    csvs = [p for p in files if p.suffix == ".csv"]
    return AnalysisResult(key, title, [csv_table(p) for p in csvs], [p.name for p in files if p.suffix == ".png"],
                          [p.name for p in csvs], notes or [])


class Analyses:
    """Results by subject, their files in one folder of the explorer's own."""

    def __init__(self, folder: Path, ttl: float = TTL):
        self.folder = folder
        self.ttl = ttl
        self.results: dict[str, AnalysisResult] = {}
        self.lock = asyncio.Lock()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _cached(self, subject: str, fresh: bool,
                      make: Callable[[str, Path], Awaitable[AnalysisResult]]) -> AnalysisResult:
        key = hashlib.sha256(subject.encode()).hexdigest()[:16]
        async with self.lock:
            known = self.results.get(key)
            if known is not None and not fresh and time.time() - known.made < self.ttl:
                return known
            folder = self.folder / key
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            self.results[key] = await make(key, folder)
            return self.results[key]

    def file(self, key: str, name: str) -> Path:
        """A file of a result, by the name the result lists (nothing else in the folder is served)."""
        result = self.results.get(key)
        if result is None or name not in (*result.figures, *result.downloads):
            raise NotFound("no such analysis file (analyses are kept for a while; open the analysis again)")
        return self.folder / key / name

    async def experiment(self, store: Store, experiment_id: ObjectId, batch_id: ObjectId | None,
                         fresh: bool = False) -> AnalysisResult:
        async def make(key: str, folder: Path) -> AnalysisResult:
            data = await load_experiment(store, str(experiment_id), str(batch_id) if batch_id else None)

            def compute() -> AnalysisResult:
                report = experiment_report(data)
                write_tables(report, folder)
                figures, _ = draw_figures(data, report, folder)
                return report_result(key, "role experiment", report, figures)

            return await asyncio.to_thread(compute)

        return await self._cached(f"experiment:{experiment_id}:{batch_id}", fresh, make)

    async def telephone(self, store: Store, *, batch_id: ObjectId | None = None, model: str | None = None,
                        instruction: str | None = None, fresh: bool = False) -> AnalysisResult:
        async def make(key: str, folder: Path) -> AnalysisResult:
            chains = await telephone_analysis.load_chains(store, batch_id=batch_id, model=model,
                                                          instruction=instruction)
            done = await asyncio.to_thread(telephone_analysis.analyse, chains, folder)
            return files_result(key, "telephone chains", done.files,
                                [f"{len(chains)} chains; similarity by {done.similarity_backend}"])

        return await self._cached(f"telephone:{batch_id}:{model}:{instruction}", fresh, make)

    async def learning(self, store: Store, batch_id: ObjectId, fresh: bool = False) -> AnalysisResult:
        async def make(key: str, folder: Path) -> AnalysisResult:
            rows = await learning_analysis.load_records(store, await store.conversations.find(
                batch_id=batch_id, protocol="iterated_learning"))
            done = await asyncio.to_thread(learning_analysis.analyse, rows, folder)
            return files_result(key, "iterated learning", done.files)

        return await self._cached(f"learning:{batch_id}", fresh, make)
