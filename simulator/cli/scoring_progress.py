"""A progress bar for scoring and labelling, on stderr so the printed summary stays clean."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextlib.contextmanager
def progress_bar(label: str, console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """Yields the callback an action reports (done, total) to. The bar appears at the first report, so a
    refusal found before any work (a rubric that is not a regular file) is the command's only line."""
    bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=console or Console(stderr=True))
    task = bar.add_task(label, total=None)

    def report(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        if bar.live.is_started:
            bar.stop()
