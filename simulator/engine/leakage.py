"""Role-leakage cleaning: keep only the speaker's own turn of a reply.

Small models often prefix their own name ("Guard_117: ...") and then carry on writing
the other side's lines ("\nPrisoner_204: ..."). We strip the first and cut at the
second. A turn marker is a name or role at a line start (optionally in markdown bold
or italics, optionally with a number) followed by a colon; another agent's full name
followed by a colon is a marker anywhere, since names like Prisoner_204 are distinctive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

GENERIC_SPEAKERS = ("user", "assistant", "system", "human", "ai", "narrator")
_DECORATION = r"[*_\[\]#>\s]*"


@dataclass(frozen=True)
class Cleaned:
    text: str
    raw: str
    stripped_prefix: bool
    cut: bool


def _names_pattern(names: Iterable[str]) -> str:
    parts = sorted({n for n in names if n}, key=len, reverse=True)
    return "|".join(re.escape(p).replace("_", "[_ ]?") for p in parts)


@lru_cache(maxsize=256)
def _patterns(speaker: str, others: tuple[str, ...], roles: tuple[str, ...]):
    # Own prefix: the full name, or the bare role word ("Guard:"), never another number.
    own = _names_pattern([speaker, speaker.split("_")[0]])
    prefix = re.compile(rf"^{_DECORATION}(?:{own})(?![_ ]?\d){_DECORATION}\s*[:：][*_]*\s*", re.IGNORECASE)
    line_names = _names_pattern([speaker, *others, *roles, *GENERIC_SPEAKERS])
    at_line_start = re.compile(
        rf"(?:^|\n){_DECORATION}(?:{line_names})(?:[_ ]?\d+)?{_DECORATION}\s*[:：]", re.IGNORECASE)
    anywhere = re.compile(rf"(?:\*\*)?\b(?:{_names_pattern(others)})\b(?:\*\*)?\s*[:：]", re.IGNORECASE) \
        if others else None
    template_header = re.compile(r"(?:^|\n)\s*#{2,}\s*\w+\s*:", re.IGNORECASE)
    return prefix, at_line_start, anywhere, template_header


def clean_reply(reply: str, speaker: str, other_agents: Iterable[str], roles: Iterable[str]) -> Cleaned:
    """The speaker's own words: leading self-prefix removed, cut at another turn."""
    prefix, at_line_start, anywhere, template_header = _patterns(
        speaker, tuple(sorted(set(other_agents))), tuple(sorted(set(roles))))
    text = reply.strip()
    stripped = False
    while True:
        match = prefix.match(text)
        if not match:
            break
        text, stripped = text[match.end():].lstrip(), True
    cut_at = len(text)
    for pattern in (at_line_start, anywhere, template_header):
        if pattern is None:
            continue
        match = pattern.search(text)
        if match and match.start() < cut_at:
            cut_at = match.start()
    cut = cut_at < len(text)
    return Cleaned(text=text[:cut_at].strip(), raw=reply, stripped_prefix=stripped, cut=cut)
