"""Any-case matching of a literal text exactly as FerretDB's `$regex` with option `i` does it.

FerretDB v1 compiles `{$regex: P, $options: "i"}` as Go's `regexp.Compile("(?i)" + P)`, and Go
folds case by Unicode's simple case folding: two characters match when they are in the same
orbit of `unicode.SimpleFold` (a code point is always one code point, never `ss` for `ß`). The
search on PostgreSQL (simulator/store/search.py) must find exactly what that `$regex` finds, so
each character of the searched text becomes the set of characters Go would accept for it:

- most orbits are a letter and its other case, which `str.lower`, `str.upper` and `str.title`
  reach (`é`/`É`);
- WIDE_ORBITS join more than two (`k`, `K`, the Kelvin sign; `s`, `S`, long `ſ`; `σ`, `Σ`, `ς`),
  and `ß` goes with `ẞ` only, which `upper` does not reach (`"ß".upper()` is `SS`);
- dotless `ı` folds with nothing in Go, though `"ı".upper()` is `I`.

The tables were read off Go 1.26's `unicode.SimpleFold` (the toolchain that builds FerretDB
here) over every code point; with them these sets equal Go's orbits for every character
Python 3.11's Unicode 14 knows. Python's own `re.IGNORECASE` differs from Go in ten pairs
(`ı` with `i` and `I`, `ﬅ`/`ﬆ`, two Greek pairs with dialytika), so it is not used.
"""

from __future__ import annotations

import re

WIDE_ORBITS = (
    "K\u006b\u212a", "S\u0073\u017f", "\u00b5\u039c\u03bc", "\u00c5\u00e5\u212b",
    "\u01c4\u01c5\u01c6", "\u01c7\u01c8\u01c9", "\u01ca\u01cb\u01cc", "\u01f1\u01f2\u01f3",
    "\u0345\u0399\u03b9\u1fbe", "\u0392\u03b2\u03d0", "\u0395\u03b5\u03f5", "\u0398\u03b8\u03d1\u03f4",
    "\u039a\u03ba\u03f0", "\u03a0\u03c0\u03d6", "\u03a1\u03c1\u03f1", "\u03a3\u03c2\u03c3",
    "\u03a6\u03c6\u03d5", "\u03a9\u03c9\u2126", "\u0412\u0432\u1c80", "\u0414\u0434\u1c81",
    "\u041e\u043e\u1c82", "\u0421\u0441\u1c83", "\u0422\u0442\u1c84\u1c85", "\u042a\u044a\u1c86",
    "\u0462\u0463\u1c87", "\u1c88\ua64a\ua64b", "\u1e60\u1e61\u1e9b", "\u00df\u1e9e",
)
UNFOLDED = "\u0131"  # dotless i: its own orbit in Go


def fold_set(char: str) -> frozenset[str]:
    """The characters Go's `(?i)` matches `char` with (itself included)."""
    if char in UNFOLDED:
        return frozenset(char)
    found, todo = {char}, [char]
    while todo:
        current = todo.pop()
        for other in (current.lower(), current.upper(), current.title()):
            if len(other) == 1 and other not in found and other not in UNFOLDED:
                found.add(other)
                todo.append(other)
    for orbit in WIDE_ORBITS:
        if char in orbit:
            found.update(orbit)
    return frozenset(found)


def python_pattern(text: str) -> re.Pattern[str]:
    """`text` as a case-sensitive Python pattern with each character's fold set spelled out."""
    parts = []
    for char in text:
        members = sorted(fold_set(char))
        parts.append(re.escape(char) if len(members) == 1 else "[" + "".join(map(re.escape, members)) + "]")
    return re.compile("".join(parts))


def postgres_pattern(text: str) -> str:
    """`text` as a PostgreSQL advanced regular expression for the case-sensitive `~` operator:
    ASCII punctuation escaped with a backslash (a backslash before any other character than a
    letter or digit means that character), each character with other cases as a bracket of its
    fold set (letters only, none of them special inside brackets)."""
    parts = []
    for char in text:
        members = sorted(fold_set(char))
        if len(members) > 1:
            parts.append("[" + "".join(members) + "]")
        elif char.isascii() and not char.isalnum():
            parts.append("\\" + char)
        else:
            parts.append(char)
    return "".join(parts)
