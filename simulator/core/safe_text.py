"""Text that reaches a terminal: names refused at the door, everything else shown harmlessly.

Experiments, names and messages come from other people. Control characters (an ESC that
starts a terminal sequence, a NUL, a DEL, the C1 block) and the Unicode direction overrides
that make text read backwards (U+202A-U+202E, U+2066-U+2069, the marks U+200E/F, U+061C)
are refused in every name-like field where it enters (files, menus, command line,
environment); content keeps them, stored as written, and every renderer shows them as
visible escapes (`\\x1b`), never raw.
"""

from __future__ import annotations

import re

from simulator.errors import ValidationError

# C0 controls but tab and newline, DEL and C1, the direction marks and overrides, and lone surrogates
# (a JSON "\\ud800" in a reply or a file: no terminal can print one, and writing it would fail)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
NAME_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """The text with every control and direction-override character written as an escape."""
    return UNSAFE.sub(_escape, text)


def check_name(text: str, what: str) -> str:
    """A name-like value as given, or one ValidationError naming the character."""
    found = NAME_UNSAFE.search(text)
    if found:
        raise ValidationError(f"{what}: contains a control or text-direction character ({_escape(found)}); "
                              f"names must be plain text on one line")
    return text
