"""Cumulativeness of one chain: how much of its total drift happened after generation 0.

For a chain's values v_0..v_G (v_0 the seed, v_g the g-th retelling),
(max - min over v_1..v_G) / (max - min over v_0..v_G). Near 1: the values keep moving across
generations (change accumulates); near 0: the first retelling jumped and the later ones stayed
put. A chain whose values never change has no range to share and gets 0.
"""

from __future__ import annotations

from typing import Sequence

from simulator.analysis._checks import finite_floats
from simulator.analysis.errors import AnalysisError


def cumulativeness(series: Sequence[float]) -> float:
    """(range over generations 1..G) / (range over generations 0..G); 0 when nothing changed."""
    values = finite_floats(series, "series")
    if len(values) < 2:
        raise AnalysisError(f"cumulativeness needs generation 0 and at least one more, got {len(values)} values")
    total = max(values) - min(values)
    if total == 0:
        return 0.0
    later = values[1:]
    return (max(later) - min(later)) / total
