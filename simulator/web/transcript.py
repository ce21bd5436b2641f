"""A conversation as the browser shows it: each message with its colour, the section it opens,
what leakage cleaning cut from the raw reply, its scores, and the day's summary after it.

The choices are the terminal's (simulator/cli/render.py): colour by role in role experiments
and by participant elsewhere, "Day N" or "Round N" headings, the summary after a day's last
message. Pure: stored objects in, plain values out, so the live updates render new messages
with exactly the same rules as the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from simulator import protocols
from simulator.cli.render import Colours, section
from simulator.core.conversation import Conversation
from simulator.analysis.scorers import column
from simulator.store import Message
from simulator.store.scores import MessageScore


@dataclass(frozen=True)
class Cleaning:
    """The raw reply around the text that was kept: what was dropped before it and cut after it."""

    before: str
    kept: str
    after: str
    found: bool  # False: the kept text is not a plain slice of the raw reply (shown whole)


@dataclass(frozen=True)
class Entry:
    index: int
    day: int
    round: int | None
    speaker: str
    role: str
    colour: str
    content: str
    raw: str
    cleaning: Cleaning | None
    scores: Mapping[str, float] = field(default_factory=dict)
    heading: str | None = None  # the section this message opens
    summary: str | None = None  # the day's summary, shown after its last message
    in_cycle: bool = False  # one of the repeating messages a chatroom converged on


def cleaning(raw: str, content: str) -> Cleaning | None:
    """What cleaning removed, when it removed more than white space; None when nothing was cut."""
    if not raw or raw.strip() == content.strip():
        return None
    kept = content.strip()
    position = raw.find(kept) if kept else -1
    if position < 0:
        return Cleaning("", raw, "", found=False)
    return Cleaning(raw[:position], kept, raw[position + len(kept):], found=True)


def cycle_indexes(conversation: Conversation) -> set[int]:
    """The messages a converged chatroom repeats: the newest, then every period-th before it."""
    outcome = conversation.outcome
    if not outcome.get("converged") or outcome.get("at_message") is None:
        return set()
    at, period = int(outcome["at_message"]), int(outcome.get("period") or 1)
    return {at - k * period for k in range(len(outcome.get("repeating") or ()))}


def scores_by_index(stored: Iterable[MessageScore]) -> dict[int, dict[str, float]]:
    """Each message's stored scores as "<scorer>.<score>" -> value, as the analysis names its columns."""
    shown: dict[int, dict[str, float]] = {}
    for score in stored:
        shown.setdefault(score.index, {}).update({column(score.scorer, name): v for name, v in score.scores.items()})
    return shown


def legend(conversation: Conversation) -> list[tuple[str, str]]:
    """(role or participant, colour) in order of appearance; a participant with a model of its own (a chatroom's
    lm1, a backrooms' Claude 1) is named with its model, unless its name already is the model."""
    llms = conversation.spec.llms
    models = {a.name: llms[a.llm].model for a in conversation.agents if 0 <= a.llm < len(llms)}
    return [(f"{who} ({models[who]})" if who in models and models[who].split("/", 1)[-1] not in who else who, colour)
            for who, colour in Colours(conversation).colours.items()]


def entries(conversation: Conversation, messages: Iterable[Message], *, summaries: Mapping[int, str] | None = None,
            scores: Mapping[int, Mapping[str, float]] | None = None, opened: str | None = None) -> list[Entry]:
    """The page's entries. `opened`: the section the page already shows (live updates continue it);
    `summaries`: day -> summary, placed after each day's last message among `messages`."""
    messages = list(messages)
    colours, cycle = Colours(conversation), cycle_indexes(conversation)
    readable = protocols.get(conversation.spec.protocol).readable
    last_of_day = {m.day: m.index for m in messages}
    shown, current = [], opened
    for m in messages:
        heading = section(conversation, m.day, m.round)
        summary = (summaries or {}).get(m.day) if last_of_day[m.day] == m.index else None
        shown.append(Entry(index=m.index, day=m.day, round=m.round, speaker=m.speaker, role=m.role,
                           colour=colours.of(m.speaker, m.role), content=readable(m.role, m.content),
                           raw=m.raw_content,
                           cleaning=cleaning(m.raw_content, m.content), scores=(scores or {}).get(m.index, {}),
                           heading=heading if heading != current else None, summary=summary,
                           in_cycle=m.index in cycle))
        current = heading
    return shown


@dataclass(frozen=True)
class Round:
    number: int
    by_participant: Mapping[str, Entry]


def side_by_side(entries_: list[Entry], participants: list[str]) -> list[Round]:
    """Backrooms: one row per round, one column per participant."""
    rounds: dict[int, dict[str, Entry]] = {}
    for entry in entries_:
        number = entry.round if entry.round is not None else entry.index // max(1, len(participants))
        rounds.setdefault(number, {})[entry.speaker] = entry
    return [Round(n, row) for n, row in sorted(rounds.items())]
