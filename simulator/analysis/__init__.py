"""Statistics over finished runs, as plain functions over plain records (no I/O).

Anyone can check them against a published table: attractors of transmission chains,
cumulativeness, scores per role and over the conversation, persuasion rates, outcome labels
and their final label, annotator agreement, regressions of outcomes on experimental
factors, and the posterior over hypotheses that an iterated learner's log-probabilities give
(its entropy, as in the iterated in-context learning study). Text metrics and scorers that produce the numbers these functions take live in
simulator.analysis.metrics and simulator.analysis.scorers. Around the statistics: `frames`
turns an experiment's runs into pandas DataFrames (simulator.actions.analysis loads them, and
is the notebook API), `report` turns those into the tables of `simulator analyze experiment`,
and `figures` draws them.

The names below load on first use: importing one module of the package (the outcome labels,
for the menus) does not import scipy and statsmodels (1.2 s of scipy.stats alone, measured),
and a command that never analyses never pays for them.
"""

from __future__ import annotations

from simulator.lazy import lazy_attributes

_WHERE = {
    "AnalysisError": "errors",
    "Attractor": "attractors", "attractor": "attractors",
    "PairAgreement": "agreement", "cohen_kappa": "agreement", "pairwise_agreement": "agreement",
    "Alpha": "agreement", "krippendorff_alpha": "agreement", "kappa_interval": "agreement",
    "cumulativeness": "cumulative",
    "FinalOutcome": "outcomes", "Outcome": "outcomes", "final_outcome": "outcomes", "outcome": "outcomes",
    "PersuasionRates": "persuasion", "persuasion_rates": "persuasion",
    "Posterior": "posterior", "biased_mass": "posterior", "hypothesis_entropy": "posterior",
    "hypothesis_mass": "posterior", "read_posterior": "posterior", "screen_probabilities": "posterior",
    "status_logprobs": "posterior",
    "Regression": "regression", "Term": "regression", "logistic_regression": "regression",
    "ols_regression": "regression",
    "RoleScore": "roles", "role_scores": "roles",
    "role_scores_over_conversation": "timeline", "third_of": "timeline",
}

__all__ = sorted(_WHERE)


__getattr__ = lazy_attributes(__name__, _WHERE)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
