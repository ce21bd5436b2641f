"""Statistics over finished runs, as plain functions over plain records (no I/O).

Anyone can check them against a published table: attractors of transmission chains,
cumulativeness, scores per role, persuasion rates, annotator agreement and regressions of
outcomes on experimental factors. Text metrics and scorers that produce the numbers these
functions take live in simulator.analysis.metrics.
"""

from simulator.analysis.agreement import cohen_kappa
from simulator.analysis.attractors import Attractor, attractor
from simulator.analysis.cumulative import cumulativeness
from simulator.analysis.errors import AnalysisError
from simulator.analysis.persuasion import PersuasionRates, persuasion_rates
from simulator.analysis.regression import Regression, Term, logistic_regression, ols_regression
from simulator.analysis.roles import RoleScore, role_scores

__all__ = [
    "AnalysisError",
    "Attractor",
    "PersuasionRates",
    "Regression",
    "RoleScore",
    "Term",
    "attractor",
    "cohen_kappa",
    "cumulativeness",
    "logistic_regression",
    "ols_regression",
    "persuasion_rates",
    "role_scores",
]
