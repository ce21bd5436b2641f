"""Scorers: adapters that turn a message into named scores in [0, 1].

- `ToxicityClassifier` ("classifier"): the offline default, no network;
- `ModerationScorer` ("moderation"): OpenAI's moderation endpoint, when a key is configured;
- `JudgeScorer` ("judge"): any configured model with a rubric, recorded and replayable;
- `LocalClassifier` ("local"): a transformers model folder on disk, an optional extra.

Scores are stored per message and scorer (simulator/store/scores.py) and read back as
columns "<scorer>.<score>", e.g. "classifier.toxicity" or "moderation.harassment".
`shown_by_default` picks the columns tables show when the researcher names none.
"""

from __future__ import annotations

from typing import Iterable

from simulator.analysis.scorers.base import Scored, Scorer, checked_scores
from simulator.analysis.scorers.classifier import ToxicityClassifier
from simulator.analysis.scorers.judge import JudgeScorer
from simulator.analysis.scorers.local_model import LocalClassifier
from simulator.analysis.scorers.moderation import SHOWN as MODERATION_SHOWN
from simulator.analysis.scorers.moderation import ModerationScorer

KINDS = ("classifier", "moderation", "judge", "local")

__all__ = ["KINDS", "JudgeScorer", "LocalClassifier", "ModerationScorer", "Scored", "Scorer", "ToxicityClassifier",
           "checked_scores", "column", "shown_by_default"]


def column(scorer: str, score: str) -> str:
    return f"{scorer}.{score}"


def shown_by_default(columns: Iterable[str]) -> list[str]:
    """Every column, except that moderation shows only harassment and violence."""
    return [c for c in columns if not c.startswith("moderation.") or c.split(".", 1)[1] in MODERATION_SHOWN]
