"""What a scorer is: texts in, named scores in [0, 1] out, a batch at a time.

A scorer has a name (stored with every score it makes: "classifier", "moderation", "judge",
"local"), a batch size (how many messages it takes in one call) and one coroutine that
scores a batch. A message it could not score gets a `Scored` with no scores and the reason,
never an exception that would stop the other messages. Storing, skipping what is already
scored and the progress bar live in simulator.actions.scoring, once for every scorer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence


@dataclass(frozen=True)
class Scored:
    scores: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None  # why there are no scores
    detail: str | None = None  # the raw answer, where there is one


class Scorer(Protocol):
    name: str
    batch_size: int

    async def score(self, texts: Sequence[str]) -> list[Scored]: ...


def checked_scores(values: Mapping[str, float]) -> Scored:
    """Scores as stored: float values in [0, 1] under names MongoDB accepts; anything else is an error."""
    for name, value in values.items():
        if not name or "." in name or name.startswith("$"):
            return Scored(error=f"score name {name!r} cannot be stored")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= 1:
            return Scored(error=f"{name} is {value!r}, not a number in [0, 1]")
    return Scored({name: float(value) for name, value in values.items()})
