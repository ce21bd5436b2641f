"""Analysing iterated-learning chains: read each generation back from the store, write CSV and a figure."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from bson import ObjectId  # noqa: E402

from simulator.actions.conversations import as_turn  # noqa: E402
from simulator.analysis.iterated_learning import GenerationRecord, Share, records, shares  # noqa: E402
from simulator.errors import ValidationError  # noqa: E402
from simulator.protocols.iterated_learning import generations, original_examples  # noqa: E402
from simulator.store import Store  # noqa: E402


async def load_records(store: Store, batch_id: ObjectId) -> list[GenerationRecord]:
    found = await store.conversations.find(batch_id=batch_id, protocol="iterated_learning")
    if not found:
        raise ValidationError(f"batch {batch_id} has no iterated-learning chains")
    rows = []
    for conversation in found:
        turns = [as_turn(m) for m in await store.messages.list(conversation.id)]
        roles = [a.role for a in conversation.agents]
        original = original_examples(conversation)
        spec = conversation.spec
        rows += records(str(conversation.id), spec.option("filter"), spec.option("bias"), spec.option("truth"),
                        original, generations(turns, roles, original))
    return rows


@dataclass
class LearningAnalysis:
    shares: list[Share]
    files: list[Path]


def analyse(rows: list[GenerationRecord], folder: Path) -> LearningAnalysis:
    folder.mkdir(parents=True, exist_ok=True)
    table = shares(rows)
    files = [_generations_csv(rows, folder), _shares_csv(table, folder), _figure(table, folder)]
    return LearningAnalysis(table, files)


def _generations_csv(rows: list[GenerationRecord], folder: Path) -> Path:
    path = folder / "generations.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["chain", "filter", "bias", "generation", "rule", "accuracy_truth", "accuracy_examples",
                         "biased", "invalid"])
        for r in rows:
            rule = ",".join(f"{k}={v}" for k, v in r.rule.items()) if r.rule else ""
            writer.writerow([r.chain, r.filter, r.bias, r.generation, rule, r.accuracy_truth, r.accuracy_examples,
                             r.biased, r.invalid])
    return path


def _shares_csv(table: list[Share], folder: Path) -> Path:
    path = folder / "shares.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["filter", "generation", "chains", "valid_rules", "biased_share", "accuracy_truth",
                         "accuracy_examples", "invalid"])
        writer.writerows([s.filter, s.generation, s.chains, s.valid, s.biased_share, s.accuracy_truth,
                          s.accuracy_examples, s.invalid] for s in table)
    return path


def _figure(table: list[Share], folder: Path) -> Path:
    """The share of chains whose rule has the biased property, over generations, one line per filter."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for filter_ in sorted({s.filter for s in table}):
        points = [(s.generation, s.biased_share) for s in table if s.filter == filter_ and s.biased_share is not None]
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"filter: {filter_}")
    axes.set_xlabel("generation")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("share of chains whose rule has the screen off")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title("Bias over generations of iterated learning")
    axes.legend()
    axes.grid(alpha=0.3)
    path = folder / "biased_share.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
