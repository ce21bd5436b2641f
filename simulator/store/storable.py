"""Values the store cannot hold as they are, written in one reversible form and restored on reading.

FerretDB keeps every document as PostgreSQL jsonb, which refuses the character U+0000 (SQLSTATE
22P05); BSON cannot encode a lone surrogate (what json.loads makes of "\\ud800" in a model's reply
or a file) nor an integer beyond 64 bits; FerretDB refuses an infinity and drops the connection on
a NaN. Text of any origin is kept faithfully instead, in one escape form:

- in a string, U+0000, every lone surrogate (U+D800-U+DFFF) and the escape character U+FFFF itself
  become U+FFFF followed by the character's code in four lower-case hex digits (U+0000 is stored as
  "\\uffff0000"). U+FFFF is a Unicode noncharacter, which no text a person writes contains; the
  store keeps it as it is;
- keys get the same escapes (operators and paths never hold these characters, so filters and updates
  keep working; a key starting with `$` or holding `.` is still refused by the server, named as such);
- a float NaN, +infinity or -infinity becomes the whole string "\\uffffnan", "\\uffffinf" or
  "\\uffff-inf", and an integer outside the signed 64-bit range "\\uffffint:" and its decimal digits.

Every write through a repository is encoded here and every read decoded (simulator/store/scrubbed.py),
filters included, so a search for text with a NUL finds it. Documents without such values (nearly
all) pass through untouched apart from one scan of their strings. Keys are never user data
(docs/ARCHITECTURE.md, "Data model") but get the same escapes, so nothing refuses them either.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

ESCAPE = "\uffff"
_NEEDS_ESCAPE = re.compile("[\x00\ud800-\udfff\uffff]")
_ESCAPED = re.compile("\uffff([0-9a-f]{4})")
_FLOATS = {ESCAPE + "nan": math.nan, ESCAPE + "inf": math.inf, ESCAPE + "-inf": -math.inf}
_BIG_INT = ESCAPE + "int:"
INT64 = (-(2**63), 2**63 - 1)


def _escape_char(match: re.Match) -> str:
    return f"{ESCAPE}{ord(match.group(0)):04x}"


def encode(value: Any, clean: Callable[[str], str] | None = None) -> Any:
    """`value` with every string, float and integer the store cannot hold in its escape form; with `clean`,
    each string value is passed through it first (the secrets scrubber: one walk of a written document)."""
    if isinstance(value, str):
        return _text(clean(value) if clean else value)
    if isinstance(value, dict):
        return {_text(k) if isinstance(k, str) else k: encode(v, clean) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v, clean) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return ESCAPE + ("nan" if math.isnan(value) else "inf" if value > 0 else "-inf")
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return f"{_BIG_INT}{value}"
    return value


def decode(value: Any) -> Any:
    """What `encode` was given: escaped strings restored (anything else is returned as read)."""
    if isinstance(value, str):
        return _decode_text(value) if ESCAPE in value else value
    if isinstance(value, dict):
        return {_decode_key(k): decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _text(text: str) -> str:
    return _NEEDS_ESCAPE.sub(_escape_char, text) if _NEEDS_ESCAPE.search(text) else text


def _decode_key(key: Any) -> Any:
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), key) if isinstance(key, str) and ESCAPE in key else key


def _decode_text(text: str) -> Any:
    if text in _FLOATS:
        return _FLOATS[text]
    if text.startswith(_BIG_INT) and text[len(_BIG_INT):].lstrip("-").isascii() and \
            text[len(_BIG_INT):].lstrip("-").isdigit():
        return int(text[len(_BIG_INT):])
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
