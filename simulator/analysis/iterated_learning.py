"""Iterated learning: per generation, how right each chain's rule is and whether it has the biased property.

Over plain values (the generations simulator.protocols.iterated_learning reads back from a
chain's turns): a record per chain and generation, and the shares the study reports per filter
and generation. A generation whose rule could not be read counts in `invalid`, and is left out
of the shares and accuracies rather than counted as unbiased or wrong.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

from simulator.protocols.iterated_learning import (Example, Generation, biased, example_accuracy,
                                                    hypothesis_accuracy)


@dataclass(frozen=True)
class GenerationRecord:
    chain: str
    filter: str
    bias: str
    generation: int  # 1 is the first to see the original examples
    rule: Mapping[str, str] | None
    accuracy_truth: float | None  # share of objects assigned as the true hypothesis does
    accuracy_examples: float | None  # share of the original examples the rule predicts
    biased: bool | None
    invalid: int


def records(chain: str, filter_: str, bias: str, truth: Mapping[str, str], original: Sequence[Example],
            generations: Sequence[Generation]) -> list[GenerationRecord]:
    result = []
    for number, generation in enumerate(generations, start=1):
        rule = generation.rule
        result.append(GenerationRecord(
            chain=chain, filter=filter_, bias=bias, generation=number, rule=rule,
            accuracy_truth=hypothesis_accuracy(rule, truth) if rule else None,
            accuracy_examples=example_accuracy(rule, original) if rule else None,
            biased=biased(rule) if rule else None, invalid=generation.invalid))
    return result


@dataclass(frozen=True)
class Share:
    filter: str
    generation: int
    chains: int  # chains that reached this generation
    valid: int  # of which the rule could be read
    biased_share: float | None
    accuracy_truth: float | None
    accuracy_examples: float | None
    invalid: int


def shares(rows: Sequence[GenerationRecord]) -> list[Share]:
    """Per filter and generation: the share of readable rules with the biased property, and mean accuracies."""
    groups: dict[tuple[str, int], list[GenerationRecord]] = defaultdict(list)
    for row in rows:
        groups[(row.filter, row.generation)].append(row)
    result = []
    for (filter_, generation), group in sorted(groups.items()):
        valid = [r for r in group if r.rule is not None]
        mean = (lambda values: sum(values) / len(values) if values else None)
        result.append(Share(filter_, generation, len(group), len(valid),
                            mean([float(r.biased) for r in valid]), mean([r.accuracy_truth for r in valid]),
                            mean([r.accuracy_examples for r in valid]), sum(r.invalid for r in group)))
    return result
