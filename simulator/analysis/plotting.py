"""What every figure shares: a colour-blind-safe palette, vector output beside the PNG, and the 95%
intervals its rates and means are drawn with.

The palette is Okabe and Ito's eight colours (Color Universal Design, 2008), which stay apart for
the common colour-vision deficiencies; matplotlib's default cycle puts red beside green. Each figure
is written as PNG (for screens and the explorer) and SVG (for a paper: it scales without blur).
The intervals are plain functions, checked against hand-computed values in the tests.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
DPI = 120
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile

plt.rcParams["axes.prop_cycle"] = cycler(color=OKABE_ITO)


def save(figure, path: Path, *, dpi: int = DPI) -> Path:
    """Write `path` (PNG) and the same figure as SVG beside it; close the figure; return the PNG's path."""
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=dpi)
    figure.savefig(path.with_suffix(".svg"))
    plt.close(figure)
    return path


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without observations): unlike p ± z·se it stays
    inside [0, 1] and is not empty at 0 or n successes."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Student's t interval of a mean (None for fewer than two values: no spread to estimate)."""
    n = len(values)
    if n < 2:
        return None
    from scipy.stats import t

    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half
