"""Figures of a role experiment's analysis, as PNG and SVG files (matplotlib, Agg backend: no display).

- toxicity_over_conversation.png: the mean score by message with its 95% interval, one line per
  role, one panel per model: do guards grow abusive as the conversation goes on?
- persuasion.png: P(attempt) and P(success | attempt) per group (model x goal) with Wilson 95%
  intervals, and the counts they come from under each pair of bars;
- agreement.png: for each pair of annotators, the table of their goal labels against each
  other, with Cohen's kappa.

Each function writes one figure and returns its path, or a line saying why there is nothing to draw
(never an empty figure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from simulator.analysis.plotting import mean_interval, save, wilson_interval
from simulator.analysis.frames import ExperimentData  # noqa: E402
from simulator.analysis.outcomes import GOAL_LABELS  # noqa: E402
from simulator.store.labels import ADJUDICATOR  # noqa: E402

MAX_PAIRS = 3


def toxicity_over_conversation(data: ExperimentData, score: str, path: Path) -> Path | str:
    messages = data.messages[data.messages[score].notna()] if score in data.messages else pd.DataFrame()
    if messages.empty:
        return f"{path.name} not drawn: no message has a {score} score (simulator score scores them)"
    models = sorted(messages["model"].unique())
    figure, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        part = messages[messages["model"] == model]
        for role, by_role in part.groupby("role", sort=False):
            groups = by_role.groupby("index")[score]
            means = groups.mean()
            line, = ax.plot(means.index + 1, means.values, marker="o",
                            label=f"{role} (n={len(by_role)} messages)")
            bands = [(i + 1, mean_interval(list(values))) for i, values in groups]
            bands = [(x, band) for x, band in bands if band is not None]
            if bands:
                ax.fill_between([x for x, _ in bands], [max(0.0, b[0]) for _, b in bands],
                                [min(1.0, b[1]) for _, b in bands], color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_title(f"{model} ({part['conversation_id'].nunique()} conversations)")
        ax.set_xlabel("message number in the conversation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    axes[0][0].set_ylabel(f"mean {score} (band: 95% interval)")
    figure.suptitle(f"{score} by role over the conversation (dotted: 0.5)")
    return save(figure, path)


def persuasion(table: pd.DataFrame, by: Sequence[str], path: Path) -> Path | str:
    if table.empty or table[["p_attempt", "p_success_given_attempt"]].isna().all().all():
        return (f"{path.name} not drawn: no run has a final goal label yet (label them: simulator label, or the "
                f"menus' Analyse > Label)")
    labels = ["\n".join(f"{b.split('.')[-1]}={row[b]}" for b in by) for _, row in table.iterrows()]
    x = range(len(table))
    figure, ax = plt.subplots(figsize=(max(5.5, 2.4 * len(table)), 4.8))
    rates = ((-0.2, "p_attempt", "P(attempt)", lambda r: (r["Yes"] + r["No"], r["Yes"] + r["No"] + r["NotTried"])),
             (0.2, "p_success_given_attempt", "P(success | attempt)", lambda r: (r["Yes"], r["Yes"] + r["No"])))
    for offset, column, name, counts_of in rates:
        values = [v if pd.notna(v) else 0.0 for v in table[column]]
        intervals = [wilson_interval(*counts_of(r)) for _, r in table.iterrows()]
        errors = [[v - i[0] if i else 0 for v, i in zip(values, intervals)],
                  [i[1] - v if i else 0 for v, i in zip(values, intervals)]]
        bars = ax.bar([i + offset for i in x], values, width=0.38, label=name, yerr=errors, capsize=3)
        for bar, value, (_, row) in zip(bars, table[column], table.iterrows()):
            hits, n = counts_of(row)
            ax.annotate("no runs" if pd.isna(value) else f"{value:.2f}\n{hits}/{n}",
                        (bar.get_x() + bar.get_width() / 2, 1.02), ha="center", va="bottom", fontsize="x-small")
    counts = [f"Yes {r['Yes']}, No {r['No']}, not tried {r['NotTried']}\nnot counted {r['not_completed'] + r['no_final_label']}"
              for _, r in table.iterrows()]
    ax.set_xticks(list(x), [f"{l}\n{c}" for l, c in zip(labels, counts)], fontsize="small")
    ax.set_ylim(0, 1.3)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("probability (bars: Wilson 95% interval)")
    ax.set_title("Persuasion per group")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.93), ncol=2, fontsize="small", frameon=False)
    figure.text(0.01, 0.01, "not counted: runs that did not finish, or have no final goal label\n(annotators "
                            "disagree and nobody adjudicated)", fontsize="x-small", color="dimgrey")
    return save(figure, path)


def agreement(data: ExperimentData, table: pd.DataFrame, path: Path) -> Path | str:
    pairs = table[table["n"] > 0].head(MAX_PAIRS) if not table.empty else table
    if pairs.empty:
        return f"{path.name} not drawn: it needs two annotators who labelled the same runs"
    labels = data.labels[(data.labels["kind"] != ADJUDICATOR) & data.labels["goal_achieved"].notna()]
    figure, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 4.2), squeeze=False)
    for ax, (_, pair) in zip(axes[0], pairs.iterrows()):
        a = labels[labels["annotator"] == pair["annotator_a"]].set_index("conversation_id")["goal_achieved"]
        b = labels[labels["annotator"] == pair["annotator_b"]].set_index("conversation_id")["goal_achieved"]
        shared = a.index.intersection(b.index)
        counts = pd.crosstab(a[shared], b[shared]).reindex(index=GOAL_LABELS, columns=GOAL_LABELS, fill_value=0)
        ax.imshow(counts.values, cmap="Blues", vmin=0)
        dark = counts.values.max() / 2
        for i in range(len(GOAL_LABELS)):
            for j in range(len(GOAL_LABELS)):
                value = counts.values[i, j]
                ax.text(j, i, str(value), ha="center", va="center", color="white" if value > dark else "black")
        ax.set_xticks(range(3), GOAL_LABELS)
        ax.set_yticks(range(3), GOAL_LABELS)
        ax.set_xlabel(_short(pair["annotator_b"]))
        ax.set_ylabel(_short(pair["annotator_a"]))
        kappa = "n/a" if pd.isna(pair["kappa"]) else f"{pair['kappa']:.2f}"
        ax.set_title(f"kappa {kappa}, agreement {pair['observed']:.2f} (n={pair['n']})", fontsize="medium")
    figure.suptitle("Goal achieved: annotator against annotator")
    return save(figure, path)


def _short(name: str, limit: int = 32) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"

