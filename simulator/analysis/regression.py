"""Regressions of run outcomes on experimental factors, with heteroscedasticity-robust errors.

`logistic_regression` models a 0/1 outcome per run or message (was the conversation toxic,
did the persuasion succeed) and reports odds ratios; `ols_regression` models a continuous
outcome (a conversation's share of toxic messages). Both fit with statsmodels and report
HC0 standard errors (White's sandwich, no small-sample correction): outcomes of LLM runs
differ in variance across conditions, which the classical errors assume away. Tests are z
tests and intervals are 95% normal intervals, which is what statsmodels uses once a robust
covariance is asked for; the z, p and intervals are computed here from the coefficient and
its HC0 error so a zero error (exactly linear data) gives z = +-inf and p = 0 instead of a
warning.

A fit that has no finite answer fails before statsmodels runs, with one AnalysisError a
researcher can act on: a constant factor or outcome, collinear factors, fewer records than
terms, and (logistic) separation, where some combination of factors predicts the outcome
without error (for example one model that was never toxic) so a coefficient runs to
infinity. Separation, complete or quasi-complete, is found exactly by a linear program
(Konis 2007): there is a direction b != 0 with x_i.b >= 0 for every outcome 1 and <= 0 for
every outcome 0 exactly when the maximum likelihood estimate does not exist.
statsmodels is imported on first use (0.4 s here), so importing the analysis stays cheap.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Collection, Hashable, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from simulator.analysis._checks import finite_floats
from simulator.analysis.design import INTERCEPT, Design, build_design, column
from simulator.analysis.errors import AnalysisError

Z_95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Term:
    coefficient: float
    std_error: float  # HC0
    z: float
    p_value: float
    ci_low: float  # 95% interval of the coefficient
    ci_high: float
    odds_ratio: float | None = None  # logistic only: exp(coefficient) and its 95% interval
    odds_ratio_ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class Regression:
    kind: str  # "logistic" or "ols"
    outcome: str
    n: int
    terms: dict[str, Term]  # "Intercept", numeric factors by name, dummies as "factor[level]"
    reference_levels: dict[str, Hashable]  # categorical factor -> the level its dummies compare with


def logistic_regression(records: Sequence[Mapping[str, Any]], outcome: str, factors: Sequence[str], *,
                        categorical: Collection[str] = (),
                        reference: Mapping[str, Hashable] | None = None) -> Regression:
    """Logistic regression of a 0/1 outcome on the factors; HC0 errors, odds ratios with 95% intervals."""
    design = _checked_design(records, factors, categorical, reference)
    y = _binary(column(records, outcome), outcome)
    _refuse_separation(design, y, outcome)
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(y, design.matrix).fit(method="newton", maxiter=100, disp=0, cov_type="HC0")
        except np.linalg.LinAlgError as error:
            raise AnalysisError(f"the logistic regression of {outcome!r} has a singular information matrix "
                                f"({error})", hint="look for factors that barely vary or levels with one record")
    if not fit.mle_retvals.get("converged", True):
        raise AnalysisError(f"the logistic regression of {outcome!r} did not converge in 100 iterations")
    return _result("logistic", outcome, design, fit.params, fit.bse)


def ols_regression(records: Sequence[Mapping[str, Any]], outcome: str, factors: Sequence[str], *,
                   categorical: Collection[str] = (), reference: Mapping[str, Hashable] | None = None) -> Regression:
    """Least squares of a continuous outcome on the factors; HC0 errors, 95% intervals."""
    design = _checked_design(records, factors, categorical, reference)
    y = np.array(finite_floats(column(records, outcome), outcome))
    import statsmodels.api as sm

    fit = sm.OLS(y, design.matrix).fit(cov_type="HC0")
    return _result("ols", outcome, design, fit.params, fit.bse)


def _checked_design(records, factors, categorical, reference) -> Design:
    design = build_design(records, factors, categorical, reference)
    n, k = design.matrix.shape
    if n <= k:
        raise AnalysisError(f"{k} terms ({', '.join(design.terms)}) need more than {k} records, got {n}")
    if np.linalg.matrix_rank(design.matrix) < k:
        raise AnalysisError(f"the factors are collinear: the terms {', '.join(design.terms)} are not independent",
                            hint="two factors change together in every record; drop one or vary them apart")
    return design


def _binary(values: list, outcome: str) -> np.ndarray:
    bad = [v for v in values if isinstance(v, str) or v not in (0, 1)]
    if bad:
        raise AnalysisError(f"the outcome {outcome!r} must be 0/1 (or False/True), found {bad[0]!r}")
    y = np.array(values, dtype=float)
    if y.min() == y.max():
        raise AnalysisError(f"the outcome {outcome!r} is {int(y[0])} in every record; a logistic regression "
                            "needs both outcomes")
    return y


def _refuse_separation(design: Design, y: np.ndarray, outcome: str) -> None:
    """Raise if some direction b != 0 puts every outcome-1 row at x.b >= 0 and every outcome-0 row at <= 0."""
    signed = design.matrix * np.where(y == 1, 1.0, -1.0)[:, None]
    k = design.matrix.shape[1]
    lp = optimize.linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(y)), bounds=[(-1, 1)] * k,
                          method="highs")
    if lp.status == 0 and -lp.fun > 1e-9 * np.abs(design.matrix).sum():
        involved = [term for term, b in zip(design.terms, lp.x) if abs(b) > 1e-9 and term != INTERCEPT]
        raise AnalysisError(
            f"perfect separation: the terms {', '.join(involved) or '(intercept only)'} predict {outcome!r} without "
            "error for some records, so the logistic coefficients have no finite estimate",
            hint="a level whose outcomes are all 0 or all 1 is the usual cause: merge or drop it, or collect more runs")


def _result(kind: str, outcome: str, design: Design, params, errors) -> Regression:
    terms = {name: _term(float(b), float(se), kind == "logistic")
             for name, b, se in zip(design.terms, params, errors)}
    return Regression(kind, outcome, design.matrix.shape[0], terms, design.reference_levels)


def _term(b: float, se: float, odds: bool) -> Term:
    if se > 0:
        z = b / se
    else:
        z = math.copysign(math.inf, b) if b else math.nan
    p = float(2 * stats.norm.sf(abs(z))) if not math.isnan(z) else math.nan
    low, high = b - Z_95 * se, b + Z_95 * se
    if not odds:
        return Term(b, se, z, p, low, high)
    return Term(b, se, z, p, low, high, math.exp(b), (math.exp(low), math.exp(high)))
