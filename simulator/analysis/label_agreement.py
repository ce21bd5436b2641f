"""Agreement of annotators per rubric question, as the explorer's annotation mode shows it.

A rubric question is a field of an outcome label with its level of measurement: the goal
(Yes / No / NotTried) is a category, the third (1-3) an order. For each question this gives
Cohen's kappa with a bootstrap 95% interval when exactly two annotators answered it, and
Krippendorff's alpha (any number of annotators, missing answers allowed) with its interval.
What cannot be computed yet (one annotator, no unit labelled twice) is a note, not an error,
because a page shows agreement while the labelling is still under way. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Mapping

from simulator.analysis.agreement import Alpha, cohen_kappa, kappa_interval, krippendorff_alpha
from simulator.analysis.errors import AnalysisError

# rubric questions with their level of measurement
QUESTIONS = (("goal_achieved", "nominal"), ("third", "ordinal"))

Answers = Mapping[str, Mapping[Hashable, Hashable]]  # annotator -> unit -> answer


@dataclass(frozen=True)
class QuestionAgreement:
    question: str
    level: str
    annotators: int  # annotators who answered the question at least once
    shared: int  # units answered by at least two annotators
    kappa: float | None = None  # only with exactly two annotators
    kappa_low: float | None = None
    kappa_high: float | None = None
    alpha: Alpha | None = None
    note: str = ""  # why a figure is missing


def question_agreement(question: str, level: str, answers: Answers, *, resamples: int = 1000,
                       seed: int = 0) -> QuestionAgreement:
    """Kappa (two annotators) and alpha (any number) of one question's answers; None answers are missing."""
    given = {who: {u: v for u, v in units.items() if v is not None} for who, units in sorted(answers.items())}
    given = {who: units for who, units in given.items() if units}
    names, units = list(given), sorted({u for units in given.values() for u in units}, key=str)
    shared = sum(1 for u in units if sum(u in given[who] for who in names) >= 2)
    if shared == 0:
        return QuestionAgreement(question, level, len(names), 0,
                                 note="needs a conversation labelled by two annotators")
    kappa = low = high = None
    notes = []
    if len(names) == 2:
        both = [u for u in units if u in given[names[0]] and u in given[names[1]]]
        first, second = [given[names[0]][u] for u in both], [given[names[1]][u] for u in both]
        kappa = cohen_kappa(first, second)
        if len(both) >= 2 and resamples:
            low, high = kappa_interval(first, second, resamples=resamples, seed=seed)
        else:
            notes.append("the interval needs two conversations labelled by both")
    matrix = [[given[who].get(u) for u in units] for who in names]
    try:
        alpha = krippendorff_alpha(matrix, level, resamples=resamples, seed=seed)
    except AnalysisError as exc:
        alpha = None
        notes.append(exc.one_line())
    return QuestionAgreement(question, level, len(names), shared, kappa, low, high, alpha, "; ".join(notes))


def rubric_agreement(labels: Mapping[str, Mapping[Hashable, Mapping[str, Hashable]]], *,
                     resamples: int = 1000) -> list[QuestionAgreement]:
    """Every rubric question's agreement from annotator -> unit -> {question: answer}."""
    return [question_agreement(question, level,
                               {who: {u: answer.get(question) for u, answer in units.items()}
                                for who, units in labels.items()}, resamples=resamples)
            for question, level in QUESTIONS]
