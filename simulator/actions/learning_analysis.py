"""Analysing iterated-learning chains: read each generation back from the store, write CSV and figures.

Files: generations.csv (every chain and generation), shares.csv (per filter and generation),
biased_share.png, and, when the rule turns carry log-probabilities, the posterior's columns in
both CSV files and entropy.png. Runs without log-probabilities (Ollama gives none) get one line
saying so instead, and no empty columns or figure.

The posterior's columns (simulator.analysis.posterior, the study's way: -10 for a status not
among the top log-probabilities, not renormalised): entropy (nats), p_screen_on/off/und (at
the screen's status token, 0 when not among the top ones), biased_mass (on the hypotheses with
the screen off), hypothesis_mass (sum_h P(h); far from 1 means the reading lost mass), of the
turn whose rule the generation passes on, and entropy_infer of the infer turn (the one the study
reads). generations.csv also has logprobs_<object>, the status=log-probability pairs read at
each object's status token, from which any of them can be recomputed (another missing value,
renormalised). Floats are written in full (repr), so they read back exactly.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from simulator.analysis.plotting import save, wilson_interval  # noqa: E402


from simulator.actions.conversations import as_turn  # noqa: E402
from simulator.analysis.iterated_learning import (GenerationRecord, Share, records, shares,  # noqa: E402
                                                  turn_posteriors)
from simulator.analysis.posterior import Posterior  # noqa: E402
from simulator.core.conversation import Conversation  # noqa: E402
from simulator.protocols.iterated_learning import OBJECTS, STATES, generations, original_examples  # noqa: E402
from simulator.store import Store  # noqa: E402


async def load_records(store: Store, found: list[Conversation]) -> list[GenerationRecord]:
    """Every generation of these chains (from simulator.actions.run_target.find_runs)."""
    rows = []
    for conversation in found:
        messages = await store.messages.list(conversation.id)
        turns = [as_turn(m) for m in messages]
        roles = [a.role for a in conversation.agents]
        original = original_examples(conversation)
        spec = conversation.spec
        posteriors = turn_posteriors(roles, [(m.role, m.content, m.logprobs) for m in messages])
        rows += records(str(conversation.id), spec.option("filter"), spec.option("bias"), spec.option("truth"),
                        original, generations(turns, roles, original), posteriors,
                        model=spec.llms[0].model if spec.llms else "")
    return rows


@dataclass
class LearningAnalysis:
    shares: list[Share]
    files: list[Path]
    note: str | None = None  # one line when no posterior could be read (no log-probabilities): no entropy columns
    skipped: tuple[str, ...] = ()  # one line per figure not written, saying why


def posterior_note(rows: list[GenerationRecord]) -> str | None:
    """Why there are no entropy columns, in one line; None when some generation's posterior was read."""
    if any(r.posterior or r.posterior_infer for r in rows):
        return None
    models = ", ".join(sorted({r.model for r in rows if r.model})) or "unknown"
    if not any(r.logprobs for r in rows):
        return (f"no log-probabilities recorded: the runs' server ({models}) did not give them; "
                f"entropy columns left out")
    return (f"log-probabilities recorded ({models}), but no reply's five statuses could be found in them; "
            f"entropy columns left out")


def analyse(rows: list[GenerationRecord], folder: Path) -> LearningAnalysis:
    folder.mkdir(parents=True, exist_ok=True)
    table = shares(rows)
    note = posterior_note(rows)
    with_posterior = note is None
    files = [_generations_csv(rows, folder, with_posterior), _shares_csv(table, folder, with_posterior)]
    skipped = []
    models = ", ".join(sorted({r.model for r in rows if r.model})) or "unknown model"
    if any(s.biased_share is not None for s in table):
        files.append(_figure(table, folder, models))
    else:  # an empty figure says nothing; one line says why there is none
        skipped.append("biased_share.png not written: no generation's rule could be read")
    if any(s.entropy is not None for s in table):
        files.append(_entropy_figure(table, folder, models))
    return LearningAnalysis(table, files, note, tuple(skipped))


def _value(number: float | None) -> float | str:
    """A number as the CSV keeps it: 15 significant digits, which drops binary noise (a mean of 0.2 and 0.4
    is 0.30000000000000004 in floating point) and keeps everything a double really resolves."""
    return "" if number is None else float(f"{number:.15g}")


POSTERIOR_COLUMNS = ["entropy", *(f"p_screen_{s}" for s in STATES), "biased_mass", "hypothesis_mass"]


def _posterior_cells(posterior: Posterior | None) -> list[float | str]:
    if posterior is None:
        return [""] * len(POSTERIOR_COLUMNS)
    return [_value(v) for v in (posterior.entropy, *(posterior.screen[s] for s in STATES), posterior.biased_mass,
                                posterior.mass)]


def _generations_csv(rows: list[GenerationRecord], folder: Path, with_posterior: bool) -> Path:
    path = folder / "generations.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        extra = [*POSTERIOR_COLUMNS, "entropy_infer", *(f"logprobs_{o}" for o in OBJECTS)] if with_posterior else []
        writer.writerow(["chain", "filter", "bias", "generation", "rule", "accuracy_truth", "accuracy_examples",
                         "biased", "invalid", *extra])
        for r in rows:
            rule = ",".join(f"{k}={v}" for k, v in r.rule.items()) if r.rule else ""
            cells = []
            if with_posterior:
                per_object = r.posterior.per_object if r.posterior else None
                cells = [*_posterior_cells(r.posterior), _value(r.posterior_infer and r.posterior_infer.entropy),
                         *(",".join(f"{s}={lp!r}" for s, lp in given.items()) for given in per_object or ()),
                         *([""] * len(OBJECTS) if per_object is None else [])]
            writer.writerow([r.chain, r.filter, r.bias, r.generation, rule, _value(r.accuracy_truth),
                             _value(r.accuracy_examples), r.biased, r.invalid, *cells])
    return path


def _shares_csv(table: list[Share], folder: Path, with_posterior: bool) -> Path:
    path = folder / "shares.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        extra = ["posteriors", *POSTERIOR_COLUMNS, "posteriors_infer", "entropy_infer"] if with_posterior else []
        writer.writerow(["filter", "generation", "chains", "valid_rules", "biased_share", "accuracy_truth",
                         "accuracy_examples", "invalid", *extra])
        for s in table:
            cells = [s.posteriors, _value(s.entropy), *(_value(s.screen.get(x)) for x in STATES),
                     _value(s.biased_mass), _value(s.mass), s.posteriors_infer, _value(s.entropy_infer)] \
                if with_posterior else []
            writer.writerow([s.filter, s.generation, s.chains, s.valid, _value(s.biased_share),
                             _value(s.accuracy_truth), _value(s.accuracy_examples), s.invalid, *cells])
    return path


def _figure(table: list[Share], folder: Path, models: str) -> Path:
    """The share of chains whose rule has the biased property, over generations, one line per filter, with the
    Wilson 95% interval of each share and its n (the chains whose rule could be read)."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for filter_ in sorted({s.filter for s in table}):
        points = [s for s in table if s.filter == filter_ and s.biased_share is not None]
        if points:
            intervals = [wilson_interval(round(s.biased_share * s.valid), s.valid) for s in points]
            errors = [[s.biased_share - i[0] for s, i in zip(points, intervals)],
                      [i[1] - s.biased_share for s, i in zip(points, intervals)]]
            axes.errorbar([s.generation for s in points], [s.biased_share for s in points], yerr=errors, marker="o",
                          capsize=3, label=f"filter: {filter_} (n={'/'.join(sorted({str(s.valid) for s in points}))}"
                                           f" rules)")
    axes.set_xlabel("generation")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("share of rules with the screen off (95% interval)")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title(f"Bias over generations of iterated learning\n{models}", fontsize="medium")
    axes.legend()
    axes.grid(alpha=0.3)
    return save(figure, folder / "biased_share.png")


def _entropy_figure(table: list[Share], folder: Path, models: str) -> Path:
    """The mean entropy of the posterior over the hypotheses per generation, one line per filter; n, the chains
    whose posterior could be read, in the legend for a line's full points and beside each point that has fewer."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    uniform = math.log(3 ** len(OBJECTS))
    axes.axhline(uniform, color="grey", linestyle="--", linewidth=1,
                 label=f"uniform over {3 ** len(OBJECTS)} hypotheses (ln {3 ** len(OBJECTS)})")
    for filter_ in sorted({s.filter for s in table}):
        points = [s for s in table if s.filter == filter_ and s.entropy is not None]
        if not points:
            continue
        most = max(s.posteriors for s in points)
        fewer = [s for s in points if s.posteriors < most]
        line, = axes.plot([s.generation for s in points], [s.entropy for s in points], marker="o",
                          label=f"filter: {filter_} (n={most}{', fewer where marked' if fewer else ''})")
        for s in fewer:  # n in the legend for the points that have it all, beside the point for the others
            axes.annotate(f"n={s.posteriors}", (s.generation, s.entropy), textcoords="offset points", xytext=(0, 8),
                          ha="center", fontsize=8, color=line.get_color())
    axes.set_xlabel("generation")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("entropy of the posterior over hypotheses (nats)")
    axes.set_ylim(0, uniform * 1.12)
    axes.set_title(f"Posterior entropy over generations (mean over n chains)\n{models}", fontsize="medium")
    axes.legend(loc="best", fontsize=9)
    axes.grid(alpha=0.3)
    return save(figure, folder / "entropy.png")
