"""Scores over the course of a conversation, per role: does a role turn toxic as the talk goes on?

The study behind the prison experiment asked whether guards grow abusive over a
conversation. The answer is a curve per role: the mean score and the share of messages
above 0.5 at each message index, or, coarser and comparable across conversations of
different lengths, in each third of the conversation.

Thirds: message i (0-based) of a conversation of n messages is in third 1 + (3 i) // n, so
6 messages split 2 / 2 / 2 and 4 messages split 2 / 1 / 1 (the first third takes the
remainder, as the days of a run do). The same thirds are what annotators name when they say
in which third a goal was achieved.

Input is plain (position, role, score) triples, one per message, where the position is the
message index or its third; each position gets `role_scores` of its messages, so a role
that was expected but did not speak at a position shows n = 0 there.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from simulator.analysis.errors import AnalysisError
from simulator.analysis.roles import RoleScore, role_scores

THIRDS = (1, 2, 3)


def third_of(index: int, n_messages: int) -> int:
    """The third (1, 2 or 3) of a conversation of n_messages that message `index` (0-based) falls in."""
    if isinstance(index, bool) or isinstance(n_messages, bool) or not 0 <= index < n_messages:
        raise AnalysisError(f"message index {index!r} is not within a conversation of {n_messages!r} messages")
    return 1 + (3 * index) // n_messages


def role_scores_over_conversation(records: Iterable[tuple[int, str, float]],
                                  roles: Sequence[str] | None = None) -> dict[int, dict[str, RoleScore]]:
    """Per position (message index or third, ascending): each role's n, mean and share > 0.5, and "all"."""
    by_position: dict[int, list[tuple[str, float]]] = {}
    for i, (position, role, score) in enumerate(records):
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise AnalysisError(f"record {i}: position {position!r} must be a message index or a third (>= 0)")
        by_position.setdefault(position, []).append((role, score))
    return {position: role_scores(by_position[position], roles) for position in sorted(by_position)}
