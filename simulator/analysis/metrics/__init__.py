"""Text metrics and scorers: text in, a number out, all offline.

Each is a small adapter around a package that ships its data or model (nothing is fetched at
import or first use; tests/test_analysis_offline.py runs them with the network removed).
A Metric maps one text to a float; METRICS names the ones a chain or role analysis sweeps, and
SCALES gives each one's range, the clip an attractor position should stay within.
"""

from __future__ import annotations

import math
from typing import Callable

from simulator.analysis.metrics.text_length import length
from simulator.analysis.metrics.readability import gunning_fog, heuristic_syllables, syllables
from simulator.analysis.metrics.sentiment import positivity
from simulator.analysis.metrics.text_similarity import Similarity, embeddings_installed, similarity
from simulator.analysis.metrics.toxicity_classifier import toxicity, toxicity_scores

Metric = Callable[[str], float]

METRICS: dict[str, Metric] = {
    "length": length,
    "difficulty": gunning_fog,
    "positivity": positivity,
    "toxicity": toxicity,
}

SCALES: dict[str, tuple[float, float]] = {
    "length": (0.0, math.inf),
    "difficulty": (0.0, math.inf),
    "positivity": (-1.0, 1.0),
    "toxicity": (0.0, 1.0),
}

__all__ = [
    "METRICS",
    "Metric",
    "SCALES",
    "Similarity",
    "embeddings_installed",
    "gunning_fog",
    "heuristic_syllables",
    "length",
    "positivity",
    "similarity",
    "syllables",
    "toxicity",
    "toxicity_scores",
]
