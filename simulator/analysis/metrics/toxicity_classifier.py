"""Toxicity of a message from an offline classifier: the probability that it is toxic, in [0, 1].

`alt-profanity-check` ships its model inside the package: a TF-IDF bag of words and a
calibrated linear SVM trained on toxic-comment data, loaded with joblib from the installed
files, so scoring needs no network and no API key. Measured here: 0.95 for "You are a
worthless piece of garbage, I will break your legs." and 0.24 for "Good morning, may I have
some yard time?". It reads words, not intent: "I will break your legs." alone scored 0.18,
below that greeting, and "This damn door is stuck." 0.75. Treat it as a cheap first pass
beside an LLM judge or a moderation API, not as the measure of threats.
The package pins the scikit-learn version its model was pickled with.
"""

from __future__ import annotations

from typing import Iterable


def toxicity(text: str) -> float:
    """Probability that the text is toxic."""
    return toxicity_scores([text])[0]


def toxicity_scores(texts: Iterable[str]) -> list[float]:
    """Toxicity of many texts in one call (the vectorizer works on batches)."""
    batch = list(texts)
    if not batch:
        return []
    from profanity_check import predict_prob  # loads the model files on first import

    return [float(p) for p in predict_prob(batch)]
