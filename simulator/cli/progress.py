"""Rich progress bar for a model pull (percent and size)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn


class PullProgressBar:
    """Callable handed to the Ollama provider; draws on stderr so stdout stays clean."""

    def __init__(self, model: str, console: Console | None = None):
        self.model = model
        self.console = console or Console(stderr=True)
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, status: str, completed: int | None, total: int | None) -> None:
        if self.progress is None:
            self.progress = Progress(TextColumn("pulling {task.description}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), DownloadColumn(),
                                     console=self.console, transient=False)
            self.progress.start()
        if total:
            task = self.tasks.get(status)
            if task is None:
                task = self.tasks[status] = self.progress.add_task(f"{self.model} {status}", total=total)
            self.progress.update(task, completed=completed or 0)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
