"""The model's posterior over the 243 light-box hypotheses, read from its log-probabilities (pure, no I/O).

As in the iterated in-context learning study (github.com/Joshua-Ren/iICL, the notebooks
ARCE_experiments01_converge_entropy.ipynb, 02_supbias and 03_adding_Heff): the `infer` reply is
a JSON object giving each object a status, and at the token where an object's status is
written the server's top log-probabilities say how likely each status was there. The study
asks for the 5 best (OpenAI's `top_logprobs=5`), takes log P(h) as the sum over the objects of
the log-probability of h's status at that object's token, counts -10 for a status not among
the top ones, and sums -P(h) log P(h) over all 3^5 hypotheses without renormalising P (its
`cal_entropy`). These functions do the same by default; `renormalise=True` normalises P over
the hypotheses first. Logarithms are natural: the uniform posterior has entropy ln 243.

Not renormalising is the study's choice and has a consequence worth knowing: the total mass
sum_h P(h) (`hypothesis_mass`) is 1 only when the top log-probabilities at each status token
cover the three statuses' whole probability. Mass lost to other tokens lowers the entropy
as if the model were surer; `hypothesis_mass` tells how far from 1 a reading is.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from simulator.protocols.iterated_learning import OBJECTS, STATES, biased, parse_hypothesis

MISSING = -10.0  # the study's log-probability for a status not among the top log-probabilities
PerObject = Sequence[Mapping[str, float]]  # one {status: log-probability} per object, in OBJECTS order


def _table(per_object: PerObject, missing: float) -> list[list[float]]:
    if len(per_object) != len(OBJECTS):
        raise ValueError(f"expected {len(OBJECTS)} objects' log-probabilities, got {len(per_object)}")
    return [[float(given.get(s, missing)) for s in STATES] for given in per_object]


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def hypothesis_logprobs(per_object: PerObject, missing: float = MISSING,
                        renormalise: bool = False) -> dict[tuple[str, ...], float]:
    """log P(h) for each of the 3^N hypotheses (a tuple of statuses in OBJECTS order).

    log P(h) = sum over objects of the log-probability of h's status there; a status not given
    counts `missing`. Not renormalised unless asked: then log P(h) - log sum_h' P(h').
    """
    table = _table(per_object, missing)
    result = {tuple(STATES[i] for i in index): sum(table[o][i] for o, i in enumerate(index))
              for index in itertools.product(range(len(STATES)), repeat=len(OBJECTS))}
    if renormalise:
        total = _logsumexp(list(result.values()))
        result = {h: lp - total for h, lp in result.items()}
    return result


def _plogp(logprob: float) -> float:
    p = math.exp(logprob)
    return p * logprob if p > 0 else 0.0  # the limit of p log p at p = 0


def hypothesis_entropy(per_object_logprobs: PerObject, missing: float = MISSING, renormalise: bool = False) -> float:
    """H = sum over every hypothesis h of -P(h) ln P(h), in nats; P not renormalised by default (the study's way)."""
    return 0.0 - sum(_plogp(lp) for lp in hypothesis_logprobs(per_object_logprobs, missing, renormalise).values())


def hypothesis_mass(per_object_logprobs: PerObject, missing: float = MISSING) -> float:
    """sum_h P(h) before any renormalising: the product over objects of the three statuses' probabilities."""
    return math.prod(sum(math.exp(lp) for lp in row) for row in _table(per_object_logprobs, missing))


def biased_mass(per_object_logprobs: PerObject, missing: float = MISSING, renormalise: bool = False) -> float:
    """The posterior mass on the hypotheses the bias favours (`biased` of the protocol: screen off).

    Summed over the hypotheses with P as in `hypothesis_entropy` (not renormalised by default,
    `missing` for a status not given). The study has no such number: it counts the sampled
    rules with the screen off. Renormalised, it is P(screen = off) among the three statuses
    with `missing` filled in for those not given.
    """
    return sum(math.exp(lp) for h, lp in hypothesis_logprobs(per_object_logprobs, missing, renormalise).items()
               if biased(dict(zip(OBJECTS, h))))


def screen_probabilities(per_object_logprobs: PerObject, renormalise: bool = False) -> dict[str, float]:
    """P(screen = on/off/und) as the study plots it: exp of the log-probability at the screen's status token.

    A status not among the top log-probabilities counts 0 there (the study's `get_all_prob_lists`),
    not exp(-10). Not renormalised by default, as in the study; `renormalise=True` divides by the
    sum of the three (all three 0 stays 0).
    """
    given = per_object_logprobs[OBJECTS.index("screen")]
    result = {s: math.exp(given[s]) if s in given else 0.0 for s in STATES}
    total = sum(result.values())
    return {s: p / total for s, p in result.items()} if renormalise and total > 0 else result


@dataclass(frozen=True)
class Posterior:
    """What one reply's log-probabilities say about the hypotheses, the study's way (not renormalised)."""

    per_object: tuple[Mapping[str, float], ...]
    entropy: float
    screen: Mapping[str, float]  # P(screen = s) at the screen's status token, for s in STATES
    biased_mass: float
    mass: float  # sum_h P(h); 1 when the top log-probabilities cover the statuses' whole probability


def posterior(per_object_logprobs: PerObject, missing: float = MISSING) -> Posterior:
    return Posterior(tuple(dict(p) for p in per_object_logprobs), hypothesis_entropy(per_object_logprobs, missing),
                     screen_probabilities(per_object_logprobs), biased_mass(per_object_logprobs, missing),
                     hypothesis_mass(per_object_logprobs, missing))


# --- where the statuses are written -------------------------------------------------------

WORDS = {"on": "on", "off": "off", "und": "und", "undetermined": "und", "undefined": "und", "unknown": "und"}
AMBIGUOUS = "?"  # a prefix of more than one status's words ("o": on or off)
_KEY = re.compile(r'"\s*(a|b|c|d|screen)\s*"\s*:\s*"\s*', re.IGNORECASE)
_STRUCTURE = re.compile(r'^[\s"\':]*')
_LETTERS = re.compile(r"[A-Za-z]*")


def _classify(word: str, complete: bool) -> str | None:
    """The status a written word (or the start of one, when not `complete`) stands for."""
    word = word.lower()
    if complete:
        return WORDS.get(word)
    found = {status for spelled, status in WORDS.items() if spelled.startswith(word)}
    return found.pop() if len(found) == 1 else AMBIGUOUS if found else None


def _alternatives(token: Mapping[str, Any]) -> dict[str, float]:
    """The top alternatives at a position, with the token actually generated among them (sampling
    at a temperature can pick one outside the top N; its log-probability is known all the same)."""
    result = {str(t["token"]): float(t["logprob"]) for t in token.get("top") or ()}
    result.setdefault(str(token["token"]), float(token["logprob"]))
    return result


def _spread(tokens: Sequence[Mapping[str, Any]], at: int, offset: int, prefix: str, base: float,
            found: dict[str, list[float]]) -> None:
    """Add to `found` the log-probability of each status reached from position `at`.

    At the value's first token (prefix ""), an alternative's word starts after what the chosen
    token has before the value (`offset` characters), or failing that after quotes, colons and
    spaces; later tokens continue the chosen prefix. An alternative that fixes one status adds
    its probability there. The chosen token when it is a prefix of several (a tokenizer that
    writes "off" as "o" + "ff") is followed to the next position, whose alternatives split it;
    other such alternatives are dropped, as nothing says how they would go on.
    """
    chosen = str(tokens[at]["token"])
    for text, logprob in _alternatives(tokens[at]).items():
        if prefix:
            rest = text
        elif offset and text.startswith(chosen[:offset]):
            rest = text[offset:]
        else:
            rest = _STRUCTURE.sub("", text)
        letters = _LETTERS.match(rest).group()
        status = _classify(prefix + letters, complete=len(rest) > len(letters))
        if status in STATES:
            found.setdefault(status, []).append(base + logprob)
        elif status == AMBIGUOUS and text == chosen and at + 1 < len(tokens) and len(prefix) < 16:
            _spread(tokens, at + 1, 0, prefix + letters, base + logprob, found)


def _value_starts(spelled: str) -> tuple[dict[str, str], dict[str, int]] | None:
    """The hypothesis in the first JSON value of the text, and where each object's status starts in it."""
    for start, char in enumerate(spelled):
        if char not in "{[":
            continue
        try:
            end = start + json.JSONDecoder().raw_decode(spelled[start:])[1]
        except ValueError:
            continue
        hypothesis = parse_hypothesis(spelled[start:end])
        if hypothesis is None:
            return None
        starts = {}
        for match in _KEY.finditer(spelled, start, end):  # the last of a repeated key wins, as in json.loads
            starts[next(o for o in OBJECTS if o.lower() == match.group(1).lower())] = match.end()
        return (hypothesis, starts) if set(starts) == set(OBJECTS) else None
    return None


def status_logprobs(tokens: Sequence[Mapping[str, Any]] | None, text: str) -> list[dict[str, float]] | None:
    """Each object's {status: log-probability} at the token where the reply writes its status, in OBJECTS order.

    `tokens` is a stored message's `logprobs` ({token, logprob, top: [{token, logprob}]} per
    generated token). None when there are none, when the text's rule is not a complete
    hypothesis, or when the tokens do not spell that rule with all five objects' statuses.

    Position: the study takes the third token after the one spelling the object's name (GPT's
    `A`, `":`, ` "`, `on`), which holds only for that tokenizer. Here the tokens are joined, the
    JSON object found in that text as the protocol's parser finds it, and for each key the
    token holding the first letter of its value is the status token: the same token for GPT,
    and the right one when a tokenizer merges the quote into the value (`"on`) or the key
    into it, or splits the value (`u` + `nd`).

    Tokens to statuses: the study keeps a top alternative only when its text is exactly `on`,
    `off` or `und`. Here the letters after any quotes, colons and spaces are read, in any
    case, as a status when they are one of its words (on; off; und, undetermined, undefined,
    unknown, which the protocol's parser reads as und) or the start of only one status's
    words (`u`, `undet`, `of`), so ` on`, `"on`, `On` and `und` count alike; tokens giving
    the same status are different continuations and their probabilities add. A token that
    starts several (`o`) is resolved only on the path actually written. The token the model
    generated counts even when it is not among the top N.
    """
    if not tokens:
        return None
    spelled = "".join(str(t["token"]) for t in tokens)
    located = _value_starts(spelled)
    if located is None or parse_hypothesis(text) != located[0]:
        return None
    ends = list(itertools.accumulate(len(str(t["token"])) for t in tokens))
    result = []
    for obj in OBJECTS:
        char = located[1][obj]
        at = next(i for i, end in enumerate(ends) if end > char)
        found: dict[str, list[float]] = {}
        _spread(tokens, at, char - (ends[at] - len(str(tokens[at]["token"]))), "", 0.0, found)
        result.append({s: _logsumexp(found[s]) for s in STATES if s in found})
    return result


def read_posterior(tokens: Sequence[Mapping[str, Any]] | None, text: str) -> Posterior | None:
    """The study's posterior reading of one reply, or None when its statuses cannot be found in its tokens."""
    per_object = status_logprobs(tokens, text)
    return posterior(per_object) if per_object is not None else None
