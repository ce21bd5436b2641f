"""Telephone chains: metric series per chain, attractors and cumulativeness per model x instruction.

A chain's series is its initial text (generation 0) followed by every generation's output.
Each metric is computed on every text; similarity is measured to the initial text and to the
previous generation (1 at generation 0). Pooling all chains of one model and instruction,
`attractor` regresses the final value (and the value at an intermediate generation) on the
start value, the initial text's unless a metric's `Fit` says otherwise (the telephone study
regresses length on generation 1's output); `cumulativeness` says per chain how much of its
total range was covered after the start. A `MetricSet` names the metrics, how a generation's
text is prepared before they measure it, and each metric's fit: the project's own
(`project_metrics`) or the study's (simulator/analysis/telephone_study.py). Plain functions
over plain values: the loading is in simulator/actions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from simulator.analysis.attractors import Attractor, attractor
from simulator.analysis.cumulative import cumulativeness
from simulator.analysis.errors import AnalysisError

SIMILARITY_METRICS = ("similarity_to_initial", "similarity_to_previous")
Metric = Callable[[str], float]


def as_written(generation: int, text: str) -> str:
    """A generation's text as the project's metrics measure it: unchanged."""
    return text


@dataclass(frozen=True)
class Fit:
    """How a metric's attractor is fitted: the generation regressed on, and the range a position keeps to."""

    start: int = 0  # 0: the initial text; 1: generation 1's output
    clip: tuple[float, float] | None = None


@dataclass(frozen=True)
class MetricSet:
    """Which definitions a chain is measured with: the metrics, the text each sees, each metric's fit."""

    name: str  # "project" or "study", written beside every attractor
    metrics: Mapping[str, Metric]
    fits: Mapping[str, Fit]
    prepare: Callable[[int, str], str] = as_written  # (generation, text) -> the text the metrics measure
    notes: tuple[str, ...] = ()  # what was left out and why, one line each

    def fit(self, metric: str) -> Fit:
        return self.fits.get(metric, Fit())


def project_metrics(metrics: Mapping[str, Metric] | None = None) -> MetricSet:
    """The project's definitions (simulator/analysis/metrics): positions clipped to each metric's range."""
    from simulator.analysis.metrics import METRICS, SCALES

    chosen = METRICS if metrics is None else metrics
    fits = {name: Fit(0, SCALES[name] if name in SCALES and SCALES[name][1] != float("inf") else None)
            for name in chosen}
    return MetricSet("project", chosen, fits)


@dataclass(frozen=True)
class Chain:
    model: str
    instruction: str
    text_id: str
    seed: int | None
    texts: tuple[str, ...]  # generation 0 (the initial text), 1, ..., G

    @property
    def group(self) -> tuple[str, str]:
        return self.model, self.instruction


def chain_series(chain: Chain, metrics: Mapping[str, Metric], similarity: Callable[[str, str], float] | None = None,
                 prepare: Callable[[int, str], str] = as_written) -> dict[str, list[float]]:
    """Every metric at every generation of one chain (each generation's text prepared as the definitions say;
    similarity always compares the texts as written)."""
    texts = [prepare(generation, text) for generation, text in enumerate(chain.texts)]
    series = {name: [float(metric(text)) for text in texts] for name, metric in metrics.items()}
    if similarity is not None:
        first, texts = chain.texts[0], chain.texts
        series["similarity_to_initial"] = [1.0] + [float(similarity(first, t)) for t in texts[1:]]
        series["similarity_to_previous"] = [1.0] + [float(similarity(a, b)) for a, b in zip(texts, texts[1:])]
    return series


@dataclass(frozen=True)
class AttractorRow:
    model: str
    instruction: str
    metric: str
    generation: int | str  # an intermediate generation's number, or "final"
    result: Attractor
    chains: int
    start: int = 0  # the generation the values were regressed on (0: the initial text)


def attractors(chains: Sequence[Chain], series: Sequence[Mapping[str, list[float]]], metric: str,
               clip: tuple[float, float] | None = None, intermediate: int | None = 10,
               start: int = 0) -> list[AttractorRow]:
    """Per model x instruction: the attractor of final values, and of values `intermediate` generations
    after `start`, each regressed on the values at generation `start` (as the study counts its columns
    from the first value it measured: for length, whose series starts at generation 1, its column 10 is
    generation 11)."""
    groups: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    for chain, values in zip(chains, series):
        groups[chain.group].append(values[metric])
    rows = []
    for (model, instruction), runs in sorted(groups.items()):
        if not all(len(r) > start for r in runs):  # a chain that never reached the start generation
            continue
        points = [("final", [r[start] for r in runs], [r[-1] for r in runs])]
        if intermediate is not None and all(len(r) > start + intermediate for r in runs):
            points.append((start + intermediate, [r[start] for r in runs], [r[start + intermediate] for r in runs]))
        for generation, begin, end in points:
            try:
                result = attractor(begin, end, clip=clip)
            except AnalysisError:  # fewer than 3 chains: nothing to regress
                continue
            rows.append(AttractorRow(model, instruction, metric, generation, result, len(runs), start))
    return rows


def cumulativeness_by_chain(series: Sequence[Mapping[str, list[float]]], metric: str) -> list[float]:
    return [cumulativeness(values[metric]) for values in series]


def mean_by_generation(runs: Sequence[Sequence[float]]) -> list[float]:
    """The mean over chains at each generation, over the chains long enough to have it."""
    length = max((len(r) for r in runs), default=0)
    means = []
    for g in range(length):
        values = [r[g] for r in runs if len(r) > g]
        means.append(sum(values) / len(values))
    return means
