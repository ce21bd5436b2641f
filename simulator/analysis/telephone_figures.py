"""Figures of telephone chains (matplotlib, PNG): evolution, initial versus final, attractors.

One function per figure, each writing one file and returning its path; axes are labelled
with the metric and what a generation is, so a figure reads on its own in a paper draft.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from simulator.analysis.plotting import save  # noqa: E402

from simulator.analysis.telephone import AttractorRow, Chain, mean_by_generation  # noqa: E402

LABELS = {"length": "length (characters)", "difficulty": "difficulty (Gunning fog index)",
          "positivity": "positivity (VADER compound)", "toxicity": "toxicity (offline classifier)",
          "similarity_to_initial": "similarity to the initial text", "similarity_to_previous":
          "similarity to the previous generation"}


def label(metric: str) -> str:
    return LABELS.get(metric, metric)


def slug(*parts: str) -> str:
    return "_".join("".join(c if c.isalnum() or c in "-." else "-" for c in p) for p in parts)


def evolution(chains: Sequence[Chain], series: Sequence[Mapping[str, list[float]]], metric: str,
              group: tuple[str, str], folder: Path) -> Path:
    """The metric over generations, one line per initial text (mean over its seeds)."""
    by_text: dict[str, list[list[float]]] = defaultdict(list)
    for chain, values in zip(chains, series):
        if chain.group == group:
            by_text[chain.text_id].append(values[metric])
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for text_id, runs in sorted(by_text.items()):
        means = mean_by_generation(runs)
        axes.plot(range(len(means)), means, marker="o", markersize=3, label=f"{text_id} ({len(runs)})")
    axes.set_xlabel("generation (0 = the initial text)")
    axes.set_ylabel(label(metric))
    axes.set_title(f"{label(metric)} along the chains: {group[0]}, {group[1]}")
    axes.legend(title="text (chains)", fontsize="small", ncol=2)
    axes.grid(alpha=0.3)
    return _save(figure, folder / f"evolution_{slug(metric, *group)}.png")


def initial_versus_final(row: AttractorRow, initial: Sequence[float], final: Sequence[float],
                         folder: Path) -> Path:
    """Each chain's final value against its initial one, the fitted line, the identity and the attractor."""
    figure, axes = plt.subplots(figsize=(5.5, 5.5))
    axes.scatter(initial, final, s=18, alpha=0.7, label="chains")
    low, high = min(*initial, *final), max(*initial, *final)
    pad = (high - low) * 0.05 or 1.0
    xs = [low - pad, high + pad]
    axes.plot(xs, xs, color="grey", linestyle="--", label="identity (no change)")
    result = row.result
    if result.slope == result.slope:  # not NaN
        axes.plot(xs, [result.intercept + result.slope * x for x in xs], color="tab:red",
                  label=f"fit: final = {result.intercept:.3g} + {result.slope:.3g} x "
                        f"{'initial' if row.start == 0 else f'generation {row.start}'}")
    if result.strength > 0:
        axes.scatter([result.position], [result.position], marker="*", s=220, color="tab:orange", zorder=3,
                     label=f"attractor {result.position:.3g} (strength {result.strength:.2f})")
    axes.set_xlabel(f"initial {label(row.metric)}" if row.start == 0
                    else f"{label(row.metric)} at generation {row.start}")
    when = "the final generation" if row.generation == "final" else f"generation {row.generation}"
    axes.set_ylabel(f"{label(row.metric)} at {when}")
    axes.set_title(f"{row.model}, {row.instruction}: {row.chains} chains")
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    return _save(figure, folder / f"initial_vs_{row.generation}_{slug(row.metric, row.model, row.instruction)}.png")


def attractor_bars(rows: Sequence[AttractorRow], metric: str, folder: Path) -> Path:
    """Attractor position and strength per model and instruction (final generation)."""
    shown = [r for r in rows if r.metric == metric and r.generation == "final"]
    names = [f"{r.model}\n{r.instruction}" for r in shown]
    figure, (left, right) = plt.subplots(1, 2, figsize=(max(6, 1.6 * len(shown) + 3), 4.5))
    left.bar(names, [r.result.position for r in shown], color="tab:orange")
    left.set_ylabel(f"attractor position ({label(metric)})")
    left.set_xlabel("model and instruction")
    right.bar(names, [r.result.strength for r in shown], color="tab:blue")
    right.set_ylabel("attractor strength (1 - |slope|)")
    right.set_xlabel("model and instruction")
    right.set_ylim(0, 1)
    figure.suptitle(f"Attractors of {label(metric)}")
    return _save(figure, folder / f"attractors_{slug(metric)}.png")


def _save(figure, path: Path) -> Path:
    """PNG and SVG beside it, in the shared palette (simulator/analysis/plotting.py); whole generations on the axis."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for axes in figure.axes:
        if "generation" in axes.get_xlabel():
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return save(figure, path)
