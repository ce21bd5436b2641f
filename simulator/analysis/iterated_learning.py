"""Iterated learning: per generation, how right each chain's rule is and whether it has the biased property.

Over plain values (the generations simulator.protocols.iterated_learning reads back from a
chain's turns): a record per chain and generation, and the shares the study reports per filter
and generation. A generation whose rule could not be read counts in `invalid`, and is left out
of the shares and accuracies rather than counted as unbiased or wrong.

When the rule turns carry log-probabilities, each record also has the model's posterior over
the 243 hypotheses read from them (simulator.analysis.posterior, the study's way): its entropy,
P(screen = on/off/und) and the mass on biased hypotheses, for the turn whose rule the generation
passes on (`check` with a filter, else `infer`) and for the `infer` turn (the one the study reads).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from simulator.analysis.posterior import Posterior, read_posterior
from simulator.protocols.iterated_learning import (STATES, Example, Generation, biased, example_accuracy,
                                                    hypothesis_accuracy)

RULE_ROLES = ("infer", "check")


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
    model: str = ""
    logprobs: bool = False  # a rule turn of this generation carried log-probabilities
    posterior: Posterior | None = None  # of the turn whose rule is passed on; None: no log-probabilities, or unreadable
    posterior_infer: Posterior | None = None  # of the infer turn


def turn_posteriors(roles: Sequence[str], turns: Sequence[tuple[str, str, Any]]) -> list[dict[str, Posterior | None]]:
    """Per generation, {role: posterior} for each rule turn that carried log-probabilities.

    `turns` are (role, text, stored logprobs or None) in order, grouped into generations as
    `generations` groups them. A turn without log-probabilities has no key; one whose statuses
    could not be found in them maps to None.
    """
    result = []
    for start in range(0, len(turns), len(roles)):
        result.append({role: read_posterior(logprobs, text) for role, text, logprobs in turns[start:start + len(roles)]
                       if role in RULE_ROLES and logprobs})
    return result


def records(chain: str, filter_: str, bias: str, truth: Mapping[str, str], original: Sequence[Example],
            generations: Sequence[Generation], posteriors: Sequence[Mapping[str, Posterior | None]] = (),
            model: str = "") -> list[GenerationRecord]:
    result = []
    for number, generation in enumerate(generations, start=1):
        rule = generation.rule
        read = posteriors[number - 1] if number <= len(posteriors) else {}
        result.append(GenerationRecord(
            chain=chain, filter=filter_, bias=bias, generation=number, rule=rule,
            accuracy_truth=hypothesis_accuracy(rule, truth) if rule else None,
            accuracy_examples=example_accuracy(rule, original) if rule else None,
            biased=biased(rule) if rule else None, invalid=generation.invalid, model=model, logprobs=bool(read),
            posterior=read.get("infer" if filter_ == "none" else "check"), posterior_infer=read.get("infer")))
    return result


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


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
    posteriors: int = 0  # chains whose posterior (of the rule passed on) could be read from log-probabilities
    entropy: float | None = None  # mean over those
    screen: Mapping[str, float | None] = field(default_factory=dict)  # mean P(screen = s)
    biased_mass: float | None = None  # mean posterior mass on the biased hypotheses
    mass: float | None = None  # mean sum_h P(h)
    posteriors_infer: int = 0  # the same for the infer turn
    entropy_infer: float | None = None


def shares(rows: Sequence[GenerationRecord]) -> list[Share]:
    """Per filter and generation: the share of readable rules with the biased property, mean accuracies, and
    the means of what the posteriors read from log-probabilities give (over the chains that have one)."""
    groups: dict[tuple[str, int], list[GenerationRecord]] = defaultdict(list)
    for row in rows:
        groups[(row.filter, row.generation)].append(row)
    result = []
    for (filter_, generation), group in sorted(groups.items()):
        valid = [r for r in group if r.rule is not None]
        read = [r.posterior for r in group if r.posterior is not None]
        read_infer = [r.posterior_infer for r in group if r.posterior_infer is not None]
        result.append(Share(filter_, generation, len(group), len(valid),
                            _mean([float(r.biased) for r in valid]), _mean([r.accuracy_truth for r in valid]),
                            _mean([r.accuracy_examples for r in valid]), sum(r.invalid for r in group),
                            posteriors=len(read), entropy=_mean([p.entropy for p in read]),
                            screen={s: _mean([p.screen[s] for p in read]) for s in STATES},
                            biased_mass=_mean([p.biased_mass for p in read]), mass=_mean([p.mass for p in read]),
                            posteriors_infer=len(read_infer), entropy_infer=_mean([p.entropy for p in read_infer])))
    return result
