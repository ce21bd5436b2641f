"""Scores per role: how many messages each role wrote, their mean score, and the share above 0.5.

Built for per-message classifier scores such as toxicity in [0, 1], where the share of
messages scored above 0.5 reads as "share of toxic messages". Input is plain (role, score)
pairs, one per message, so a transcript from any store or export can be scored.

A role that was expected (listed in `roles`) but never spoke still appears, with n = 0 and
mean and share None, so a table of conditions keeps its rows and a missing role is not
mistaken for a role that scored 0. The "all" entry counts every message once, whatever its
role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from simulator.analysis._checks import finite_floats
from simulator.analysis.errors import AnalysisError

ALL = "all"
THRESHOLD = 0.5


@dataclass(frozen=True)
class RoleScore:
    n: int
    mean: float | None
    share_above_half: float | None  # share of messages with score > 0.5


def role_scores(records: Iterable[tuple[str, float]], roles: Sequence[str] | None = None) -> dict[str, RoleScore]:
    """Per role (listed roles first, then others as they first speak) and "all": n, mean, share > 0.5."""
    pairs = list(records)
    names = [role for role, _ in pairs]
    scores = finite_floats((score for _, score in pairs), "score")
    if ALL in names or (roles and ALL in roles):
        raise AnalysisError(f'a role may not be called "{ALL}": that name is the entry over every message')
    order = list(dict.fromkeys([*(roles or []), *names]))
    result = {role: _summary([s for name, s in zip(names, scores) if name == role]) for role in order}
    result[ALL] = _summary(scores)
    return result


def _summary(scores: list[float]) -> RoleScore:
    if not scores:
        return RoleScore(0, None, None)
    return RoleScore(len(scores), sum(scores) / len(scores), sum(s > THRESHOLD for s in scores) / len(scores))
