"""Agreement of two annotators beyond chance: Cohen's kappa.

kappa = (p_o - p_e) / (1 - p_e), where p_o is the share of items both annotators labelled
alike and p_e = sum over labels of (share of items A gave that label) x (share B gave it), the
agreement expected if each labelled at random with their own label frequencies. Used to check
an LLM judge against a human annotator, or two judges against each other.

When p_e = 1 both annotators gave every item the same single label, so p_o = 1 too and the
formula is 0/0. Kappa is defined as 1 there: they agree on every item, and a sweep over
conditions should not stop on a NaN. Labels may be any hashable values (strings, booleans,
ints); they are compared with ==. `pairwise_agreement` gives kappa for every pair of annotators
over the items both labelled, as stored labels come: some conversations labelled by a judge
only, some also by a person.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

from simulator.analysis._checks import same_length
from simulator.analysis.errors import AnalysisError


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two annotators over the same items, in order; 1 when both used one label."""
    same_length(labels_a, labels_b, "the two annotators' labels")
    n = len(labels_a)
    if n == 0:
        raise AnalysisError("Cohen's kappa needs at least one item labelled by both annotators")
    observed = sum(a == b for a, b in zip(labels_a, labels_b)) / n
    counts_a, counts_b = Counter(labels_a), Counter(labels_b)
    same_label_pairs = sum(counts_a[label] * counts_b[label] for label in counts_a)
    if same_label_pairs == n * n:
        return 1.0
    expected = same_label_pairs / (n * n)
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class PairAgreement:
    annotator_a: str
    annotator_b: str
    n: int  # items both labelled
    observed: float | None  # share of those items labelled alike
    kappa: float | None


def pairwise_agreement(labels: Mapping[str, Mapping[Hashable, Hashable]]) -> list[PairAgreement]:
    """Cohen's kappa of every pair of annotators over the items both labelled (annotator -> item -> label).

    Pairs come in the order the annotators are given; a pair with no item in common has n = 0
    and no kappa.
    """
    names = list(labels)
    result = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = [item for item in labels[a] if item in labels[b]]
            if not shared:
                result.append(PairAgreement(a, b, 0, None, None))
                continue
            first, second = [labels[a][item] for item in shared], [labels[b][item] for item in shared]
            observed = sum(x == y for x, y in zip(first, second)) / len(shared)
            result.append(PairAgreement(a, b, len(shared), observed, cohen_kappa(first, second)))
    return result


# --- any number of annotators: Krippendorff's alpha (issue 25) ---
#
# alpha = 1 - D_o / D_e over the coincidence matrix o (Krippendorff, "Computing Krippendorff's
# Alpha-Reliability", 2011): every unit with m >= 2 ratings adds, for each ordered pair of its
# ratings (c, k) by different annotators, 1 / (m - 1) to o[c, k]; units rated once are not
# pairable and drop out, so missing ratings need no imputation. D_o = sum o_ck d(c,k) / n and
# D_e = sum n_c n_k d(c,k) / (n (n - 1)) with n_c the row sums and n their total. The distance d
# is the level's: nominal 0 or 1, interval (c - k)^2, ordinal (n_c + ... + n_k - (n_c + n_k)/2)^2
# over the ranks between c and k. As with kappa, alpha is 1 when every rating is one value
# (D_e = 0: nothing to disagree on). The 95% interval resamples units with replacement.

LEVELS = ("nominal", "ordinal", "interval")
Rating = Hashable | None


@dataclass(frozen=True)
class Alpha:
    alpha: float
    low: float | None  # bootstrap 95% interval; None when fewer than two pairable units
    high: float | None
    units: int  # units with at least two ratings
    ratings: int  # pairable ratings (n)
    level: str


def _distances(values: list, counts: list[float], level: str) -> "numpy.ndarray":
    import numpy as np

    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "interval":
        numbers = np.array(values, dtype=float)
        return (numbers[:, None] - numbers[None, :]) ** 2
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])  # ordinal: ranks are the sorted values
    n = np.array(counts)
    low = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
    high = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    between = cumulative[high + 1] - cumulative[low]
    return (between - (n[low] + n[high]) / 2) ** 2


def _coincidences(units: list[list], index: dict) -> "numpy.ndarray":
    import numpy as np

    o = np.zeros((len(index), len(index)))
    for unit in units:
        m = len(unit)
        counts = np.bincount([index[v] for v in unit], minlength=len(index)).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    return o


def _alpha_of(units: list[list], values: list, level: str) -> float:
    index = {v: i for i, v in enumerate(values)}
    o = _coincidences(units, index)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = _distances(values, list(n_c), level)
    expected = (n_c[:, None] * n_c[None, :] * delta).sum() / (n * (n - 1))
    if expected == 0:
        return 1.0
    return float(1.0 - ((o * delta).sum() / n) / expected)


def _pairable_units(ratings: Sequence[Sequence[Rating]]) -> list[list]:
    """Columns of the annotators x units matrix with at least two ratings, missing ones (None) left out."""
    widths = {len(row) for row in ratings}
    if len(widths) > 1:
        raise AnalysisError(f"every annotator's row must cover the same units, got lengths {sorted(widths)}")
    columns = zip(*ratings) if ratings else []
    units = [[v for v in column if v is not None] for column in columns]
    return [u for u in units if len(u) >= 2]


def krippendorff_alpha(ratings: Sequence[Sequence[Rating]], level: str = "nominal", *, resamples: int = 1000,
                       seed: int = 0) -> Alpha:
    """Krippendorff's alpha of any number of annotators (rows) over units (columns), None where an annotator
    did not rate a unit; `level` nominal, ordinal (values ranked by their order) or interval (numbers)."""
    if level not in LEVELS:
        raise AnalysisError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    units = _pairable_units(ratings)
    if not units:
        raise AnalysisError("Krippendorff's alpha needs a unit rated by at least two annotators")
    try:
        values = sorted({v for unit in units for v in unit})
    except TypeError:
        raise AnalysisError("the ratings mix kinds of values that cannot be ordered (e.g. text and numbers)")
    if level == "interval" and not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise AnalysisError("interval alpha needs numbers as ratings")
    alpha = _alpha_of(units, values, level)
    low = high = None
    if len(units) >= 2 and resamples:
        low, high = _bootstrap(lambda sample: _alpha_of(sample, sorted({v for u in sample for v in u}), level),
                               units, resamples, seed)
    return Alpha(alpha, low, high, len(units), sum(len(u) for u in units), level)


def _bootstrap(statistic, items: list, resamples: int, seed: int) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the statistic over resamples of the items with replacement."""
    import numpy as np

    rng = np.random.default_rng(seed)
    draws = [statistic([items[i] for i in rng.integers(0, len(items), len(items))]) for _ in range(resamples)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def kappa_interval(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable], *, resamples: int = 1000,
                   seed: int = 0) -> tuple[float, float]:
    """A bootstrap 95% interval of Cohen's kappa, resampling the items both annotators labelled."""
    same_length(labels_a, labels_b, "the two annotators' labels")
    if len(labels_a) < 2:
        raise AnalysisError("a kappa interval needs at least two items labelled by both annotators")
    pairs = list(zip(labels_a, labels_b))
    return _bootstrap(lambda sample: cohen_kappa([a for a, _ in sample], [b for _, b in sample]), pairs,
                      resamples, seed)
