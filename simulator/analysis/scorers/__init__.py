"""Scorers: adapters that turn a message into named scores in [0, 1].

- `ToxicityClassifier` ("classifier"): the offline default, no network;
- `ModerationScorer` ("moderation"): OpenAI's moderation endpoint, when a key is configured;
- `JudgeScorer` ("judge"): any configured model with a rubric, recorded and replayable;
- `LocalClassifier` ("local"): a transformers model folder on disk, an optional extra.

Scores are stored per message and scorer (simulator/store/scores.py) and read back as
columns "<scorer>.<score>", e.g. "classifier.toxicity" or "moderation.harassment".
`shown_by_default` picks the columns tables show when the researcher names none.
The scorer classes load on first use (the openai client, the classifier's model), so the
command line and the menus start without them.
"""

from __future__ import annotations

from typing import Iterable

from simulator.lazy import lazy_attributes

KINDS = ("classifier", "moderation", "judge", "local")
DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
# What tables show of a scorer's scores when the researcher names none: all, except these.
SHOWN = {"moderation": ("harassment", "violence")}

_WHERE = {"Scored": "base", "Scorer": "base", "checked_scores": "base", "ToxicityClassifier": "classifier",
          "JudgeScorer": "judge", "LocalClassifier": "local_model", "ModerationScorer": "moderation"}

__all__ = ["DEFAULT_MODERATION_MODEL", "KINDS", "SHOWN", *sorted(_WHERE), "column", "shown_by_default"]


__getattr__ = lazy_attributes(__name__, _WHERE)


def column(scorer: str, score: str) -> str:
    return f"{scorer}.{score}"


def shown_by_default(columns: Iterable[str]) -> list[str]:
    """Every column, except that moderation shows only harassment and violence."""
    shown = []
    for name in columns:
        scorer, score = name.split(".", 1)
        if scorer not in SHOWN or score in SHOWN[scorer]:
            shown.append(name)
    return shown
