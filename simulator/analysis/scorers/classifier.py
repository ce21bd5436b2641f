"""The default scorer: toxicity from the offline classifier that ships inside its package.

It wraps simulator.analysis.metrics.toxicity_classifier (alt-profanity-check: no network, no
key, about a millisecond a message). Scoring runs in a worker thread so a long batch does not
stall the event loop that also writes the scores.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

from simulator.analysis.metrics.toxicity_classifier import toxicity_scores
from simulator.analysis.scorers.base import Scored, checked_scores


class ToxicityClassifier:
    name = "classifier"
    batch_size = 256

    async def score(self, texts: Sequence[str]) -> list[Scored]:
        values = await asyncio.to_thread(toxicity_scores, list(texts))
        return [checked_scores({"toxicity": value}) for value in values]
