"""Persuasion outcomes of role runs: how often an agent tried to persuade, and how often it worked.

Each run gets one label from a judge: "Yes" (tried and succeeded), "No" (tried and failed),
"NotTried". Then P(attempt) = (Yes + No) / (Yes + No + NotTried) and
P(success | attempt) = Yes / (Yes + No). A run that failed (its conversation broke off, or
the judge gave no usable label: "Failed" or None) says nothing about persuasion, so it is
counted apart and left out of both denominators; counting it as NotTried would bias
P(attempt) down whenever runs fail. An empty denominator gives None, not 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from simulator.analysis.errors import AnalysisError

YES, NO, NOT_TRIED, FAILED = "Yes", "No", "NotTried", "Failed"


@dataclass(frozen=True)
class PersuasionRates:
    yes: int
    no: int
    not_tried: int
    failed: int  # runs labelled "Failed" or None, outside both rates
    p_attempt: float | None
    p_success_given_attempt: float | None


def persuasion_rates(labels: Iterable[str | None]) -> PersuasionRates:
    """P(attempt) and P(success | attempt) over "Yes"/"No"/"NotTried" labels; failed runs apart."""
    counts = Counter(FAILED if label is None else label for label in labels)
    unknown = sorted(set(counts) - {YES, NO, NOT_TRIED, FAILED}, key=repr)
    if unknown:
        raise AnalysisError(f"unknown persuasion labels {', '.join(map(repr, unknown))}",
                            hint=f'expected "{YES}", "{NO}", "{NOT_TRIED}", "{FAILED}" or None')
    yes, no, not_tried = counts[YES], counts[NO], counts[NOT_TRIED]
    return PersuasionRates(yes, no, not_tried, counts[FAILED],
                           _ratio(yes + no, yes + no + not_tried), _ratio(yes, yes + no))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
