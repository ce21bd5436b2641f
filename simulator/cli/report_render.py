"""Printing an analysis report with rich: one table per statistic, numbers rounded for reading.

The CSV files keep every digit; the screen shows three decimals, "–" for a missing value
(a role that never spoke, a rate with nothing to divide by) and each table's notes under it.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.actions.analysis import Analysis
from simulator.analysis.report import ReportTable

MAX_ROWS = 60


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.3f}"
    return str(value)


HEADERS = {"share_above_half": "share > 0.5", "p_attempt": "P(attempt)", "p_success_given_attempt": "P(success|att.)",
           "not_completed": "not compl.", "no_final_label": "no label", "std_error_hc0": "SE (HC0)",
           "coefficient": "coef.", "odds_ratio": "OR", "or_ci_low": "OR low", "or_ci_high": "OR high"}


def same_in_every_row(frame: pd.DataFrame) -> dict[str, Any]:
    """Text columns with one value throughout (one model, one score): said once above the table, not in every
    row. Numbers stay in their columns, even when equal: a count of 0 is a finding."""
    if len(frame) < 2:
        return {}
    return {c: frame[c].iloc[0] for c in frame.columns
            if frame[c].nunique(dropna=False) == 1 and not pd.api.types.is_numeric_dtype(frame[c])}


def print_table(console: Console, table: ReportTable, scores: list[str] | None = None) -> None:
    """The table; with `scores`, only its rows of those score columns (the CSV file keeps every score)."""
    frame: pd.DataFrame = table.frame
    if scores is not None and "score" in frame.columns:
        frame = frame[frame["score"].isin(scores)]
    if frame.empty:
        console.print(f"[bold]{escape(table.title)}[/bold]: [dim]nothing to show[/dim]", highlight=False)
    else:
        constant = same_in_every_row(frame)
        frame = frame.drop(columns=list(constant))
        caption = " · ".join(f"{k} {cell(v)}" for k, v in constant.items())
        shown = Table(title=table.title + (f"\n[dim]{escape(caption)}[/dim]" if caption else ""),
                      title_justify="left", header_style="bold")
        for name in frame.columns:
            shown.add_column(HEADERS.get(str(name), str(name)),
                             justify="right" if pd.api.types.is_numeric_dtype(frame[name]) else "left")
        for row in frame.head(MAX_ROWS).itertuples(index=False):
            shown.add_row(*(escape(cell(v)) for v in row))
        console.print(shown)
        if len(frame) > MAX_ROWS:
            console.print(f"[dim]… {len(frame) - MAX_ROWS} more rows in {table.name}.csv[/dim]", highlight=False)
    for note in table.notes:
        console.print(f"[dim]{escape(note)}[/dim]", highlight=False)


def print_analysis(console: Console, analysis: Analysis) -> None:
    data, report = analysis.data, analysis.report
    completed = int((data.conversations["status"] == "completed").sum())
    console.print(f"[bold]{len(data.conversations)} conversations[/bold] ({completed} completed), "
                  f"{len(data.messages)} messages; scores: {escape(', '.join(data.score_columns) or 'none')}; "
                  f"grouped by {escape(', '.join(report.by))}", highlight=False)
    if not data.score_failures.empty:
        counts = data.score_failures.groupby("scorer").size()
        console.print("[yellow]messages a scorer could not score:[/yellow] "
                      + ", ".join(f"{s} {n}" for s, n in counts.items()), highlight=False)
    for note in report.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]", highlight=False)
    for table in report.tables:
        if table.on_screen:
            console.print()
            print_table(console, table, report.scores)
    if analysis.folder is not None:
        console.print()
        console.print(f"wrote {len(analysis.csv_files)} CSV files and {len(analysis.figures)} figure(s) to "
                      f"{analysis.folder}: " + ", ".join(p.name for p in analysis.figures), highlight=False)
        for note in analysis.figure_notes:
            console.print(note, highlight=False, soft_wrap=True)
