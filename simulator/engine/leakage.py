"""Role-leakage cleaning: keep only the speaker's own turn of a reply.

Small models often prefix their own name ("Guard_117: ...") and then carry on writing
the other side's lines ("\nPrisoner_204: ..."). We strip the first and cut at the
second. A turn marker is a name or role at a line start (optionally in markdown bold
or italics, optionally with a number or an article: "The prisoner:") followed by a
colon; another agent's full name followed by a colon is a marker anywhere, since names
like Prisoner_204 are distinctive.

What SmolLM2-135M wrote over 80 prison turns (tests/test_leakage.py keeps them as cases)
added three more ways a reply stops being the speaker's own turn:
- narration of another participant on a later line ("The guards stand outside and look
  at you", "Prisoner_204 smiles"): cut there. Not on the first line, which would leave
  nothing: a reply that is all narration is still the speaker's turn;
- several paragraphs where one or two sentences were asked for: an experiment may set
  `max_paragraphs`, and the rest is cut;
- a reply cut off by the token limit mid-sentence: the unfinished sentence is dropped
  when a finished one remains.
The raw reply is always stored beside the cleaned one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Protocol, Sequence

from simulator.core.agents import Agent

GENERIC_SPEAKERS = ("user", "assistant", "system", "human", "ai", "narrator", "you", "me")
_DECORATION = r"[*_\[\]#>\s]*"
_ARTICLE = r"(?:(?:the|a|an|another|one of the|both|all the|two|three)\s+)?"
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]*_]*(?=\s|$)")


@dataclass(frozen=True)
class Cleaned:
    text: str
    raw: str
    stripped_prefix: bool
    cut: bool
    rule: str | None = None  # what cut it: turn marker, narration, paragraphs, unfinished sentence


def _names_pattern(names: Iterable[str]) -> str:
    parts = sorted({n for n in names if n}, key=len, reverse=True)
    return "|".join(re.escape(p).replace("_", "[_ ]?") for p in parts)


def _plural(nouns: Iterable[str]) -> str:
    return "|".join(re.escape(n).replace("_", "[_ ]?") + "s?" for n in sorted(set(nouns), key=len, reverse=True)
                    if n)


@lru_cache(maxsize=256)
def _patterns(speaker: str, own_role: str, others: tuple[str, ...], roles: tuple[str, ...]):
    # Own prefix: the full name, or the bare role word ("Guard:"), never another number.
    own = _names_pattern([speaker, speaker.split("_")[0]])
    prefix = re.compile(rf"^{_DECORATION}(?:{own})(?![_ ]?\d){_DECORATION}\s*[:：][*_]*\s*", re.IGNORECASE)
    line_names = "|".join(p for p in (_names_pattern([speaker, *others, *GENERIC_SPEAKERS]), _plural(roles)) if p)
    markers = [re.compile(
        rf"(?:^|\n){_DECORATION}{_ARTICLE}(?:{line_names})(?:[_ ]?\d+)?{_DECORATION}\s*[:：]", re.IGNORECASE)]
    if others:
        markers.append(re.compile(rf"(?:\*\*)?\b(?:{_names_pattern(others)})\b(?:\*\*)?\s*[:：]", re.IGNORECASE))
    markers.append(re.compile(r"(?:^|\n)\s*#{2,}\s*\w+\s*:", re.IGNORECASE))  # a chat template's header
    narrated = "|".join(p for p in (_names_pattern(others), _plural(r for r in roles if r != own_role)) if p)
    # Someone else as the subject of a later line: "The guards stand", "(Prisoner_204 smiles".
    narration = re.compile(rf"\n{_DECORATION}\(?{_ARTICLE}(?:{narrated})(?:'s)?[ \t]+[a-z]", re.IGNORECASE) \
        if narrated else None
    return prefix, markers, narration


def clean_reply(reply: str, speaker: str, other_agents: Iterable[str], roles: Iterable[str], *,
                own_role: str = "", max_paragraphs: int | None = None, truncated: bool = False) -> Cleaned:
    """The speaker's own words: leading self-prefix removed, cut where someone else's part starts."""
    prefix, markers, narration = _patterns(speaker, own_role.lower(), tuple(sorted(set(other_agents))),
                                           tuple(sorted({r.lower() for r in roles})))
    text = reply.strip()
    stripped = False
    while match := prefix.match(text):
        text, stripped = text[match.end():].lstrip(), True
    cuts = [(m.start(), "turn marker") for m in (p.search(text) for p in markers) if m]
    if narration is not None and (m := narration.search(text)):
        cuts.append((m.start(), "narration"))
    if max_paragraphs is not None:
        breaks = list(_PARAGRAPH_BREAK.finditer(text))
        if len(breaks) >= max_paragraphs:
            cuts.append((breaks[max_paragraphs - 1].start(), "paragraphs"))
    cut_at, rule = min(cuts, default=(len(text), None))
    text = text[:cut_at].strip()
    if truncated and rule is None:
        finished = drop_unfinished_sentence(text)
        if finished != text:
            text, rule = finished, "unfinished sentence"
    return Cleaned(text=text, raw=reply, stripped_prefix=stripped, cut=rule is not None, rule=rule)


def drop_unfinished_sentence(text: str) -> str:
    """Text up to its last finished sentence; unchanged when no sentence is finished."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[:ends[-1].end()] if ends and ends[-1].end() < len(text.rstrip()) else text


class Cleaner(Protocol):
    def clean(self, reply: str, agent: Agent, agents: Sequence[Agent], truncated: bool) -> Cleaned: ...


class RoleLeakage:
    """Role experiments: the speaker's own turn only (the rules above)."""

    def __init__(self, max_paragraphs: int | None = None):
        self.max_paragraphs = max_paragraphs

    def clean(self, reply: str, agent: Agent, agents: Sequence[Agent], truncated: bool) -> Cleaned:
        others = [a.name for a in agents if a.name != agent.name]
        roles = list(dict.fromkeys(a.role for a in agents))
        return clean_reply(reply, agent.name, others, roles, own_role=agent.role,
                           max_paragraphs=self.max_paragraphs, truncated=truncated)


class Verbatim:
    """The reply exactly as written (chatroom, backrooms): a self-replicating message must be seen as
    the model wrote it, so nothing is cut; only a blank reply counts as empty."""

    def clean(self, reply: str, agent: Agent, agents: Sequence[Agent], truncated: bool) -> Cleaned:
        return Cleaned(text=reply if reply.strip() else "", raw=reply, stripped_prefix=False, cut=False)
