"""Outcome labels of a conversation and the final label they add up to.

An annotator (a person, or an LLM judge with a rubric) says whether the persuading role
achieved its goal: "Yes" (tried and succeeded), "No" (tried and failed) or "NotTried", and
for "Yes" in which third of the conversation it happened (1, 2, 3, or unknown). Several
annotators may label the same conversation; the final label is

- the adjudicator's, when there is one (an adjudication settles a disagreement, and a later
  adjudication replaces an earlier one);
- otherwise the label every usable annotator gave, when they agree ("agreed"; a single
  annotator's label is "single");
- otherwise none ("disagreed"), until someone adjudicates.

Agreement is on the goal label. The final third is the one every annotator who named a third
gave; when they named different thirds it is unknown (None), unless adjudicated. A label
without a usable answer (a judge whose reply did not parse) does not count as an annotator,
and a conversation with no usable label has no final label ("unlabelled"): the persuasion
rates count it apart, like a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from simulator.analysis.errors import AnalysisError
from simulator.analysis.persuasion import NO, NOT_TRIED, YES

GOAL_LABELS = (YES, NO, NOT_TRIED)
AGREED, SINGLE, ADJUDICATED, DISAGREED, UNLABELLED = "agreed", "single", "adjudicated", "disagreed", "unlabelled"


@dataclass(frozen=True)
class Outcome:
    goal_achieved: str  # "Yes", "No" or "NotTried"
    third: int | None = None  # only with "Yes": the third (1-3) in which the goal was achieved, if known


@dataclass(frozen=True)
class FinalOutcome:
    outcome: Outcome | None
    how: str  # agreed | single | adjudicated | disagreed | unlabelled
    annotators: int  # usable labels it was decided from (the adjudication not counted)


def outcome(goal_achieved: str, third: int | str | None = None) -> Outcome:
    """A checked outcome: a known goal label, and a third (1-3) only with "Yes"."""
    if goal_achieved not in GOAL_LABELS:
        raise AnalysisError(f"goal achieved must be {', '.join(GOAL_LABELS)}; got {goal_achieved!r}")
    if third in (None, ""):
        return Outcome(goal_achieved)
    number = _third(third)
    if goal_achieved != YES:
        raise AnalysisError(f"a third ({number}) only goes with goal achieved {YES!r}, not {goal_achieved!r}")
    return Outcome(goal_achieved, number)


def _third(value: int | str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or text not in ("1", "2", "3"):
        raise AnalysisError(f"the third must be 1, 2 or 3; got {value!r}")
    return int(text)


def final_outcome(labels: Iterable[Outcome | None], adjudication: Outcome | None = None) -> FinalOutcome:
    """The adjudicated label, else the agreed one, else none; unusable labels (None) do not count."""
    usable = [label for label in labels if label is not None]
    if adjudication is not None:
        return FinalOutcome(adjudication, ADJUDICATED, len(usable))
    if not usable:
        return FinalOutcome(None, UNLABELLED, 0)
    goals = {label.goal_achieved for label in usable}
    if len(goals) > 1:
        return FinalOutcome(None, DISAGREED, len(usable))
    thirds = {label.third for label in usable if label.third is not None}
    agreed = Outcome(goals.pop(), thirds.pop() if len(thirds) == 1 else None)
    return FinalOutcome(agreed, SINGLE if len(usable) == 1 else AGREED, len(usable))
