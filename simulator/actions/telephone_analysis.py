"""Analysing telephone chains: load them from the store, compute every metric, write CSV and figures.

The numbers come from simulator.analysis.telephone (plain functions); this module is the I/O
around them: which chains (a batch, or every chain of a model and instruction, imported ones
included), and the files: metrics.csv (every chain, generation and metric), attractors.csv,
cumulativeness.csv, and the PNG figures.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from bson import ObjectId

from simulator.analysis import telephone_figures as figures
from simulator.analysis.metrics import METRICS, SCALES, Similarity
from simulator.analysis.telephone import (SIMILARITY_METRICS, AttractorRow, Chain, attractors, chain_series,
                                          cumulativeness_by_chain)
from simulator.errors import ValidationError
from simulator.store import Store


async def load_chains(store: Store, *, batch_id: ObjectId | None = None, model: str | None = None,
                      instruction: str | None = None) -> list[Chain]:
    """Completed or partial telephone chains, each with its initial text and every stored generation."""
    if batch_id is None and not (model and instruction):
        raise ValidationError("name a batch, or a model and an instruction")
    found = await store.conversations.find(batch_id=batch_id, protocol="telephone", model=model,
                                           options={"instruction": instruction} if instruction else None)
    chains = []
    for conversation in sorted(found, key=lambda c: (c.spec.option("text_id"), c.spec.seed or 0)):
        texts = [m.content for m in await store.messages.list(conversation.id)]
        if texts:
            chains.append(Chain(model=conversation.spec.llms[0].model, instruction=conversation.spec.option("instruction"),
                                text_id=conversation.spec.option("text_id"), seed=conversation.spec.seed,
                                texts=(conversation.spec.option("text"), *texts)))
    if not chains:
        raise ValidationError("no telephone chains with messages found for that choice")
    return chains


@dataclass
class TelephoneAnalysis:
    chains: list[Chain]
    rows: list[AttractorRow]
    files: list[Path] = field(default_factory=list)
    similarity_backend: str = ""


def analyse(chains: list[Chain], folder: Path, *, intermediate: int = 10,
            metrics: Mapping[str, Callable[[str], float]] = METRICS) -> TelephoneAnalysis:
    folder.mkdir(parents=True, exist_ok=True)
    similarity = Similarity()
    series = [chain_series(chain, metrics, similarity) for chain in chains]
    names = [*metrics, *SIMILARITY_METRICS]
    # similarity starts at 1 in every chain, so it has no initial value to regress on: no attractor
    rows = [row for name in metrics
            for row in attractors(chains, series, name, clip=_clip(name), intermediate=intermediate)]
    result = TelephoneAnalysis(chains, rows, similarity_backend=similarity.backend)
    result.files += [_metrics_csv(chains, series, names, folder), _attractors_csv(rows, folder),
                     _cumulativeness_csv(chains, series, names, folder)]
    for group in sorted({c.group for c in chains}):
        result.files += [figures.evolution(chains, series, name, group, folder) for name in names]
    for row in rows:
        pairs = [(s[row.metric][0], s[row.metric][-1] if row.generation == "final" else s[row.metric][row.generation])
                 for c, s in zip(chains, series) if c.group == (row.model, row.instruction)]
        result.files.append(figures.initial_versus_final(row, [p[0] for p in pairs], [p[1] for p in pairs], folder))
    result.files += [figures.attractor_bars(rows, name, folder) for name in names if any(r.metric == name for r in rows)]
    return result


def _clip(metric: str) -> tuple[float, float] | None:
    low, high = SCALES.get(metric, (float("-inf"), float("inf")))
    return (low, high) if high != float("inf") else None


def _write(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _metrics_csv(chains, series, names, folder: Path) -> Path:
    return _write(folder / "metrics.csv", ["model", "instruction", "text_id", "seed", "generation", "metric", "value"],
                  ([c.model, c.instruction, c.text_id, c.seed, g, name, value]
                   for c, s in zip(chains, series) for name in names for g, value in enumerate(s[name])))


def _attractors_csv(rows: list[AttractorRow], folder: Path) -> Path:
    return _write(folder / "attractors.csv", ["model", "instruction", "metric", "generation", "chains", "position",
                                              "strength", "slope", "intercept", "p_value_abs_slope_ge_1"],
                  ([r.model, r.instruction, r.metric, r.generation, r.chains, r.result.position, r.result.strength,
                    r.result.slope, r.result.intercept, r.result.p_value] for r in rows))


def _cumulativeness_csv(chains, series, names, folder: Path) -> Path:
    values = {name: cumulativeness_by_chain(series, name) for name in names}
    return _write(folder / "cumulativeness.csv", ["model", "instruction", "text_id", "seed", "generations", *names],
                  ([c.model, c.instruction, c.text_id, c.seed, len(c.texts) - 1, *(values[n][i] for n in names)]
                   for i, c in enumerate(chains)))
