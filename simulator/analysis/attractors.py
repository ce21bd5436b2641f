"""Attractors of transmission chains: where repeated retelling pulls a value, and how hard.

Regress each chain's final value on its initial value (ordinary least squares, pooled over
chains): final = intercept + slope * initial. A fixed point of that map is the value that
comes back unchanged, intercept / (1 - slope): the attractor's position. With |slope| < 1
every start moves toward it, the faster the smaller |slope|, so strength = 1 - |slope|
(1: every chain ends at the attractor whatever it started from; 0: the final value keeps the
initial one). With |slope| >= 1 nothing is attracted and position and strength are both 0.

Choices an analysis over real chains needs, made here once:
- p_value tests H0 |slope| >= 1 against |slope| < 1 (evidence that an attractor exists) with
  two one-sided t-tests on n - 2 degrees of freedom and the classical OLS standard error:
  H0 slope >= 1 (p = P(T <= (slope - 1) / se)) and H0 slope <= -1 (p = P(T >= (slope + 1) /
  se)); both must be rejected, so p = the larger of the two. A perfect fit (se = 0) gives
  p = 0 when |slope| < 1 and 1 otherwise.
- Constant final values: slope 0 exactly, a perfect attractor at that value (strength 1,
  p_value 0 with n >= 3).
- Constant initial values (every chain started from the same value, e.g. the same seed
  text): the slope cannot be estimated. No error, because a sweep over metrics should not
  stop there: slope, intercept, strength and p_value are NaN and position is the mean final
  value, the best available guess of where the chains went.
- Fewer than 3 pairs, unequal lengths, None, NaN or infinities raise AnalysisError: a NaN
  is a failed score, and the researcher decides whether to drop or re-score it.
- clip = (low, high) bounds an estimated position to the metric's range (toxicity (0, 1),
  positivity (-1, 1)); a slope near 1 otherwise puts the fixed point far outside. The
  "no attractor" 0 is left as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats

from simulator.analysis._checks import finite_floats, same_length
from simulator.analysis.errors import AnalysisError

NAN = float("nan")


@dataclass(frozen=True)
class Attractor:
    position: float
    strength: float
    slope: float
    intercept: float
    n: int
    p_value: float  # H0 |slope| >= 1; small means evidence of an attractor


def attractor(initial: Sequence[float], final: Sequence[float],
              clip: tuple[float, float] | None = None) -> Attractor:
    """Position and strength of the attractor of final values regressed on initial values."""
    same_length(initial, final, "initial and final values")
    x, y = finite_floats(initial, "initial"), finite_floats(final, "final")
    if len(x) < 3:
        raise AnalysisError(f"an attractor needs at least 3 (initial, final) pairs, got {len(x)}")
    _check_clip(clip)
    if min(x) == max(x):
        return Attractor(_clipped(sum(y) / len(y), clip), NAN, NAN, NAN, len(x), NAN)
    slope, intercept, se = _least_squares(x, y)
    if abs(slope) >= 1:
        return Attractor(0.0, 0.0, slope, intercept, len(x), _p_slope_inside_unit(slope, se, len(x)))
    position = _clipped(intercept / (1 - slope), clip)
    return Attractor(position, 1 - abs(slope), slope, intercept, len(x), _p_slope_inside_unit(slope, se, len(x)))


def _least_squares(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Slope, intercept and the slope's classical standard error of y = intercept + slope * x."""
    n = len(x)
    mean_x, mean_y = sum(x) / n, sum(y) / n
    sxx = sum((xi - mean_x) ** 2 for xi in x)
    sxy = sum((xi - mean_x) * (yi - mean_y) for xi, yi in zip(x, y))
    slope = 0.0 if min(y) == max(y) else sxy / sxx
    intercept = mean_y - slope * mean_x
    residual_ss = sum((yi - intercept - slope * xi) ** 2 for xi, yi in zip(x, y))
    return slope, intercept, math.sqrt(residual_ss / (n - 2) / sxx)


def _p_slope_inside_unit(slope: float, se: float, n: int) -> float:
    """Two one-sided t-tests of H0 slope >= 1 and H0 slope <= -1; the larger p-value."""
    if se == 0:
        return 0.0 if abs(slope) < 1 else 1.0
    df = n - 2
    p_below_one = stats.t.cdf((slope - 1) / se, df)
    p_above_minus_one = stats.t.sf((slope + 1) / se, df)
    return float(max(p_below_one, p_above_minus_one))


def _check_clip(clip: tuple[float, float] | None) -> None:
    if clip is not None and not (len(clip) == 2 and clip[0] <= clip[1]):
        raise AnalysisError(f"clip must be a (low, high) pair with low <= high, got {clip!r}")


def _clipped(value: float, clip: tuple[float, float] | None) -> float:
    return value if clip is None else min(max(value, clip[0]), clip[1])
