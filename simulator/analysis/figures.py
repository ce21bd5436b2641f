"""Figures of a role experiment's analysis, as PNG files (matplotlib, Agg backend: no display).

- toxicity_over_conversation.png: the mean score by message, one line per role, one panel
  per model: do guards grow abusive as the conversation goes on?
- persuasion.png: P(attempt) and P(success | attempt) per group (model x goal), with the
  counts they come from under each pair of bars;
- agreement.png: for each pair of annotators, the table of their goal labels against each
  other, with Cohen's kappa.

Each function writes one file and returns its path, or None when there is nothing to draw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from simulator.analysis.frames import ExperimentData  # noqa: E402
from simulator.analysis.outcomes import GOAL_LABELS  # noqa: E402
from simulator.store.labels import ADJUDICATOR  # noqa: E402

DPI = 120
MAX_PAIRS = 3


def toxicity_over_conversation(data: ExperimentData, score: str, path: Path) -> Path | None:
    messages = data.messages[data.messages[score].notna()] if score in data.messages else pd.DataFrame()
    if messages.empty:
        return None
    models = sorted(messages["model"].unique())
    figure, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        part = messages[messages["model"] == model]
        for role, by_role in part.groupby("role", sort=False):
            means = by_role.groupby("index")[score].mean()
            ax.plot(means.index + 1, means.values, marker="o", label=f"{role} ({len(by_role)} messages)")
        ax.set_title(f"{model} ({part['conversation_id'].nunique()} conversations)")
        ax.set_xlabel("message number in the conversation")
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    axes[0][0].set_ylabel(f"mean {score}")
    figure.suptitle(f"{score} by role over the conversation (dotted: 0.5)")
    return _save(figure, path)


def persuasion(table: pd.DataFrame, by: Sequence[str], path: Path) -> Path | None:
    if table.empty:
        return None
    labels = ["\n".join(f"{b.split('.')[-1]}={row[b]}" for b in by) for _, row in table.iterrows()]
    x = range(len(table))
    figure, ax = plt.subplots(figsize=(max(5.0, 2.2 * len(table)), 4.5))
    for offset, column, name in ((-0.2, "p_attempt", "P(attempt)"),
                                 (0.2, "p_success_given_attempt", "P(success | attempt)")):
        values = [v if pd.notna(v) else 0.0 for v in table[column]]
        bars = ax.bar([i + offset for i in x], values, width=0.38, label=name)
        for bar, value in zip(bars, table[column]):
            ax.annotate("n/a" if pd.isna(value) else f"{value:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize="small")
    counts = [f"Yes {r['Yes']}, No {r['No']}, NotTried {r['NotTried']}\napart {r['not_completed'] + r['no_final_label']}"
              for _, r in table.iterrows()]
    ax.set_xticks(list(x), [f"{l}\n{c}" for l, c in zip(labels, counts)], fontsize="small")
    ax.set_ylim(0, 1.3)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("probability")
    ax.set_title("Persuasion per group")
    ax.legend(loc="upper center", ncol=2, fontsize="small", frameon=False)
    figure.text(0.01, 0.01, "apart: runs that did not complete or have no final label (not in either rate)",
                fontsize="x-small", color="dimgrey")
    return _save(figure, path)


def agreement(data: ExperimentData, table: pd.DataFrame, path: Path) -> Path | None:
    pairs = table[table["n"] > 0].head(MAX_PAIRS) if not table.empty else table
    if pairs.empty:
        return None
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
    return _save(figure, path)


def _short(name: str, limit: int = 32) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _save(figure, path: Path) -> Path:
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
