"""Positivity of a text: VADER's compound score in [-1, 1] (-1 most negative, +1 most positive).

VADER is a rule-based sentiment model over a hand-rated lexicon tuned for short social-media
text, which suits chat turns. The `vaderSentiment` package ships its lexicon and emoji table
as package files and downloads nothing (checked with the network removed); NLTK's copy of
VADER, by contrast, needs `nltk.download("vader_lexicon")` first.
"""

from __future__ import annotations

import functools


def positivity(text: str) -> float:
    """VADER compound score: -1 (negative) to 1 (positive), 0 for neutral or empty text."""
    return float(_analyzer().polarity_scores(text)["compound"])


@functools.cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()
