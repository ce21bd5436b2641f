"""Statistics over finished runs, as plain functions over plain records (no I/O).

Anyone can check them against a published table: attractors of transmission chains,
cumulativeness, scores per role and over the conversation, persuasion rates, outcome labels
and their final label, annotator agreement and regressions of outcomes on experimental
factors. Text metrics and scorers that produce the numbers these
functions take live in simulator.analysis.metrics and simulator.analysis.scorers. Around the
statistics, not free of I/O: `data` loads an experiment's runs as pandas DataFrames (the
notebook API), `report` turns those into the tables of `simulator analyze experiment`, and
`figures` draws them.
"""

from simulator.analysis.agreement import PairAgreement, cohen_kappa, pairwise_agreement
from simulator.analysis.attractors import Attractor, attractor
from simulator.analysis.cumulative import cumulativeness
from simulator.analysis.errors import AnalysisError
from simulator.analysis.outcomes import FinalOutcome, Outcome, final_outcome, outcome
from simulator.analysis.persuasion import PersuasionRates, persuasion_rates
from simulator.analysis.regression import Regression, Term, logistic_regression, ols_regression
from simulator.analysis.roles import RoleScore, role_scores
from simulator.analysis.timeline import role_scores_over_conversation, third_of

__all__ = [
    "AnalysisError",
    "Attractor",
    "FinalOutcome",
    "Outcome",
    "PairAgreement",
    "PersuasionRates",
    "Regression",
    "RoleScore",
    "Term",
    "attractor",
    "cohen_kappa",
    "cumulativeness",
    "final_outcome",
    "logistic_regression",
    "ols_regression",
    "outcome",
    "pairwise_agreement",
    "persuasion_rates",
    "role_scores",
    "role_scores_over_conversation",
    "third_of",
]
