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
