"""Tables that survive narrow terminals and pipes: every value whole, never cut to `r…`.

Rich shrinks a table that does not fit by folding and then truncating its cells; through a
pipe it assumes 80 columns, so a batch grid read `r… l… d…`. Here a table is drawn only when
every value fits on one line at the console's width; otherwise each row is printed as a block of
`column: value` lines, which any width (and grep, and a spreadsheet-minded reader) can take.
"""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from simulator.core.safe_text import visible


def count(value: int | None) -> str:
    """The one way a count is printed: digits grouped by thousands."""
    return "-" if value is None else f"{value:,}"


def fits(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> bool:
    """Whether a table of these cells, each on one line, fits in `width` (rich's box: 3 per column + 1)."""
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    return sum(widths) + 3 * len(columns) + 1 <= width


def print_table(console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """The title on its own line, then a table when it fits the console's width, else one `column: value`
    block per row (nothing when there are no rows). Values are data (never markup), shown with control
    characters made visible."""
    rows = [[visible(str(value)) for value in row] for row in rows]
    title = visible(title)
    # a column empty in every row (who holds a cell, when nothing runs) says nothing: leave it out
    keep = [i for i, _ in enumerate(columns) if i == 0 or any(row[i] for row in rows)]
    columns, rows = [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]
    console.print(Text(title, style="bold"), soft_wrap=True)
    if not rows:
        return
    if fits(columns, rows, console.width):
        table = Table()
        for column in columns:
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(*(Text(value) for value in row))
        console.print(table)
        return
    label = max((len(c) for c in columns), default=0)
    for row in rows:
        console.print()
        for column, value in zip(columns, row):
            console.print(Text(f"{column:>{label}}: {value}"), soft_wrap=True)
