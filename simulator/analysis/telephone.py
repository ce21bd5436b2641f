"""Telephone chains: metric series per chain, attractors and cumulativeness per model x instruction.

A chain's series is its initial text (generation 0) followed by every generation's output.
Each metric is computed on every text; similarity is measured to the initial text and to the
previous generation (1 at generation 0). Pooling all chains of one model and instruction,
`attractor` regresses the final value (and the value at an intermediate generation) on the
initial one; `cumulativeness` says per chain how much of its total range was covered after
the start. Plain functions over plain values: the loading is in simulator/actions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from simulator.analysis.attractors import Attractor, attractor
from simulator.analysis.cumulative import cumulativeness
from simulator.analysis.errors import AnalysisError

SIMILARITY_METRICS = ("similarity_to_initial", "similarity_to_previous")


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


def chain_series(chain: Chain, metrics: Mapping[str, Callable[[str], float]],
                 similarity: Callable[[str, str], float] | None = None) -> dict[str, list[float]]:
    """Every metric at every generation of one chain."""
    series = {name: [float(metric(text)) for text in chain.texts] for name, metric in metrics.items()}
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


def attractors(chains: Sequence[Chain], series: Sequence[Mapping[str, list[float]]], metric: str,
               clip: tuple[float, float] | None = None, intermediate: int | None = 10) -> list[AttractorRow]:
    """Per model x instruction: the attractor of final values, and of values at `intermediate`."""
    groups: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    for chain, values in zip(chains, series):
        groups[chain.group].append(values[metric])
    rows = []
    for (model, instruction), runs in sorted(groups.items()):
        points = [("final", [r[0] for r in runs], [r[-1] for r in runs])]
        if intermediate is not None and all(len(r) > intermediate for r in runs):
            points.append((intermediate, [r[0] for r in runs], [r[intermediate] for r in runs]))
        for generation, start, end in points:
            try:
                result = attractor(start, end, clip=clip)
            except AnalysisError:  # fewer than 3 chains: nothing to regress
                continue
            rows.append(AttractorRow(model, instruction, metric, generation, result, len(runs)))
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
