"""Input checks the statistics share: finite numbers, equal lengths, enough points."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from simulator.analysis.errors import AnalysisError


def finite_floats(values: Iterable[float], name: str) -> list[float]:
    """The values as floats; None, NaN or infinity raise with the first bad position."""
    result = []
    for i, value in enumerate(values):
        if value is None or isinstance(value, bool) or not _is_number(value) or not math.isfinite(value):
            raise AnalysisError(f"{name}[{i}] is {value!r}; every value must be a finite number",
                                hint="drop or re-score the items whose metric failed before the analysis")
        result.append(float(value))
    return result


def same_length(a: Sequence, b: Sequence, names: str) -> None:
    if len(a) != len(b):
        raise AnalysisError(f"{names} must have the same length, got {len(a)} and {len(b)}")


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)
