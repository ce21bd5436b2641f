"""Plain records to a regression design matrix: an intercept, numeric factors as they are,
categorical factors as treatment-coded dummies against a stated reference level.

Records are dicts such as {"model": "smollm2", "guards": 2, "toxic": 1}. A factor whose values
are strings (or booleans) is categorical; numbers are numeric unless the factor is named in
`categorical` or given a reference level (agent counts 1, 2, 3 as levels rather than a
slope). A categorical factor's
reference level is the one named in `reference`, else its smallest level in sorted order (as
R and patsy do), and the result says which one it was. Dummy columns are named
"factor[level]"; each coefficient compares that level with the reference.

The matrix is built here, not with a formula string, so factor names and levels from stored
data are never parsed as formula syntax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Hashable, Mapping, Sequence

import numpy as np

from simulator.analysis._checks import finite_floats
from simulator.analysis.errors import AnalysisError

INTERCEPT = "Intercept"


@dataclass(frozen=True)
class Design:
    matrix: np.ndarray  # n x k, first column the intercept
    terms: list[str]  # k column names
    reference_levels: dict[str, Hashable]


def column(records: Sequence[Mapping[str, Any]], name: str) -> list:
    """The values of one field, refusing a record that lacks it or holds None."""
    values = []
    for i, record in enumerate(records):
        if record.get(name) is None:
            raise AnalysisError(f"record {i} has no value for {name!r}",
                                hint="drop incomplete records before the regression")
        values.append(record[name])
    return values


def build_design(records: Sequence[Mapping[str, Any]], factors: Sequence[str], categorical: Collection[str] = (),
                 reference: Mapping[str, Hashable] | None = None) -> Design:
    """Intercept plus one column per numeric factor and per non-reference level of a categorical one."""
    if not records:
        raise AnalysisError("there are no records to fit")
    reference = dict(reference or {})
    unknown = set(reference) - set(factors)
    if unknown:
        raise AnalysisError(f"reference levels given for factors not in the model: {', '.join(sorted(unknown))}")
    columns, terms, references = [np.ones(len(records))], [INTERCEPT], {}
    for factor in factors:
        values = column(records, factor)
        if factor in categorical or factor in reference or any(isinstance(v, (str, bool)) for v in values):
            base, dummies = _dummies(factor, values, reference.get(factor))
            references[factor] = base
            for level, dummy in dummies:
                columns.append(dummy)
                terms.append(f"{factor}[{level}]")
        else:
            columns.append(_numeric(factor, values))
            terms.append(factor)
    return Design(np.column_stack(columns), terms, references)


def _numeric(factor: str, values: list) -> np.ndarray:
    numbers = finite_floats(values, factor)
    if min(numbers) == max(numbers):
        raise _constant(factor, values[0])
    return np.array(numbers)


def _dummies(factor: str, values: list, base: Hashable | None) -> tuple[Hashable, list[tuple[Hashable, np.ndarray]]]:
    levels = _sorted_levels(values)
    if len(levels) == 1:
        raise _constant(factor, levels[0])
    if base is None:
        base = levels[0]
    elif base not in levels:
        raise AnalysisError(f"reference level {base!r} of {factor!r} does not occur",
                            hint=f"its levels are {', '.join(map(repr, levels))}")
    return base, [(level, np.array([float(v == level) for v in values])) for level in levels if level != base]


def _sorted_levels(values: list) -> list:
    levels = list(dict.fromkeys(values))
    try:
        return sorted(levels)
    except TypeError:  # mixed types: a stable order all the same
        return sorted(levels, key=repr)


def _constant(factor: str, value) -> AnalysisError:
    return AnalysisError(f"factor {factor!r} is constant (every record has {value!r}), so its effect cannot be "
                         "estimated", hint="drop it from the factors or analyse data where it varies")
