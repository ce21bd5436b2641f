"""Analysing telephone chains: load them from the store, compute every metric, write CSV and figures.

The numbers come from simulator.analysis.telephone (plain functions); this module is the I/O
around them: which chains (a batch, or every chain of a model and instruction, imported ones
included), which definitions (the project's metrics, or the telephone study's with `--metrics study`:
simulator/analysis/telephone_study.py, whose toxicity comes only from a local checkpoint), and the
files: metrics.csv (every chain, generation and metric), attractors.csv (with the definitions and the
generation each fit regressed on), cumulativeness.csv, and the PNG figures.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from bson import ObjectId

from simulator.analysis import telephone_figures as figures
from simulator.analysis.metrics import Similarity
from simulator.analysis.telephone import (SIMILARITY_METRICS, AttractorRow, Chain, MetricSet, attractors,
                                          chain_series, cumulativeness_by_chain, project_metrics)
from simulator.core.csv_cells import safe_row
from simulator.core.conversation import Conversation
from simulator.errors import ValidationError
from simulator.store import Store


async def load_chains(store: Store, *, batch_id: ObjectId | None = None, model: str | None = None,
                      instruction: str | None = None) -> list[Chain]:
    """Completed or partial telephone chains, each with its initial text and every stored generation."""
    if batch_id is None and not (model and instruction):
        raise ValidationError("name a batch, or a model and an instruction")
    found = await store.conversations.find(batch_id=batch_id, protocol="telephone", model=model,
                                           options={"instruction": instruction} if instruction else None)
    return await chains_of(store, found)


async def chains_of(store: Store, found: list[Conversation]) -> list[Chain]:
    """These telephone conversations as chains (those with no generation stored yet left out)."""
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
    definitions: str = "project"
    notes: tuple[str, ...] = ()


def analyse(chains: list[Chain], folder: Path, *, intermediate: int = 10,
            metrics: Mapping[str, Callable[[str], float]] | None = None,
            definitions: MetricSet | None = None) -> TelephoneAnalysis:
    """Every metric of every chain, the attractors, the CSV files and the figures, with the project's
    definitions (optionally a subset, `metrics`) unless `definitions` names others."""
    chosen = definitions or project_metrics(metrics)
    folder.mkdir(parents=True, exist_ok=True)
    similarity = Similarity()
    series = [chain_series(chain, chosen.metrics, similarity, chosen.prepare) for chain in chains]
    names = [*chosen.metrics, *SIMILARITY_METRICS]
    # similarity starts at 1 in every chain, so it has no initial value to regress on: no attractor
    rows = [row for name in chosen.metrics
            for row in attractors(chains, series, name, clip=chosen.fit(name).clip, intermediate=intermediate,
                                  start=chosen.fit(name).start)]
    result = TelephoneAnalysis(chains, rows, similarity_backend=similarity.backend, definitions=chosen.name,
                               notes=chosen.notes)
    result.files += [_metrics_csv(chains, series, names, folder), _attractors_csv(rows, chosen.name, folder),
                     _cumulativeness_csv(chains, series, names, folder)]
    for group in sorted({c.group for c in chains}):
        result.files += [figures.evolution(chains, series, name, group, folder) for name in names]
    for row in rows:
        pairs = [(s[row.metric][row.start], s[row.metric][-1] if row.generation == "final"
                  else s[row.metric][row.generation])
                 for c, s in zip(chains, series) if c.group == (row.model, row.instruction)]
        result.files.append(figures.initial_versus_final(row, [p[0] for p in pairs], [p[1] for p in pairs], folder))
    result.files += [figures.attractor_bars(rows, name, folder) for name in names if any(r.metric == name for r in rows)]
    return result


async def study_definitions(chains: list[Chain], classifier: Path | None = None) -> MetricSet:
    """The telephone study's definitions; with `classifier` (a Detoxify or ToxiGen checkpoint folder) its
    toxicity, scored once per distinct text the study measures, else no toxicity and a note saying why."""
    from simulator.analysis import telephone_study as study

    study.check_versions()
    if classifier is None:
        return study.study_metrics()
    from simulator.analysis.scorers.local_model import LocalClassifier

    scorer = LocalClassifier(classifier)
    texts = sorted({study.prepared(g, t) for chain in chains for g, t in enumerate(chain.texts)})
    found: dict[str, float] = {}
    for start in range(0, len(texts), scorer.batch_size):
        batch = texts[start:start + scorer.batch_size]
        for text, scored in zip(batch, await scorer.score(batch)):
            if scored.error:
                raise ValidationError(f"the local classifier could not score a text: {scored.error}")
            found[text] = study.toxicity_from(scored.scores)
    return study.study_metrics(found.__getitem__)


def _write(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(safe_row(row) for row in rows)  # names from files: no formulas (core/csv_cells.py)
    return path


def _metrics_csv(chains, series, names, folder: Path) -> Path:
    return _write(folder / "metrics.csv", ["model", "instruction", "text_id", "seed", "generation", "metric", "value"],
                  ([c.model, c.instruction, c.text_id, c.seed, g, name, value]
                   for c, s in zip(chains, series) for name in names for g, value in enumerate(s[name])))


def _attractors_csv(rows: list[AttractorRow], definitions: str, folder: Path) -> Path:
    return _write(folder / "attractors.csv", ["model", "instruction", "metric", "generation", "chains", "position",
                                              "strength", "slope", "intercept", "p_value_abs_slope_ge_1",
                                              "regressed_on_generation", "definitions"],
                  ([r.model, r.instruction, r.metric, r.generation, r.chains, r.result.position, r.result.strength,
                    r.result.slope, r.result.intercept, r.result.p_value, r.start, definitions] for r in rows))


def _cumulativeness_csv(chains, series, names, folder: Path) -> Path:
    values = {name: cumulativeness_by_chain(series, name) for name in names}
    return _write(folder / "cumulativeness.csv", ["model", "instruction", "text_id", "seed", "generations", *names],
                  ([c.model, c.instruction, c.text_id, c.seed, len(c.texts) - 1, *(values[n][i] for n in names)]
                   for i, c in enumerate(chains)))
