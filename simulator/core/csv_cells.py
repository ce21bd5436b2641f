"""CSV cells a spreadsheet will not run: the leading-quote rule against formula (CSV) injection.

Messages, names and notes come from models and other people. A cell that starts with `=`, `+`,
`-`, `@`, a tab or a carriage return is read by Excel, LibreOffice and Google Sheets as a formula
(`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`, `@SUM(...)`), which can fetch URLs or run commands when
the file is opened. Every CSV the tool writes (`simulator export --format csv`, the explorer's CSV
download, the analysis tables) passes its text cells through `safe_cell`: such a cell gets a
leading `'`, which spreadsheets show as text and which a reader of the file can strip. Numbers,
and text that is a plain number ("-0.25", "+3"), are left as they are, so the columns still read
as numbers.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value, with a leading quote when it is text a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def safe_frame(frame: Any) -> Any:
    """A pandas DataFrame whose text cells are safe (a copy; numeric columns untouched)."""
    result = frame.copy()
    for column in result.columns[result.dtypes == object]:
        result[column] = result[column].map(safe_cell)
    return result
