"""Maps keyed by names from user data, as they are stored: lists of {name, value} pairs.

A participant is often named after its model (`qwen2.5:0.5b`, `gpt-3.5-turbo-0125`), and a
MongoDB key may not contain '.' nor start with '$': FerretDB refuses the whole write. So no
stored document uses such a name as a key. A map keyed by participants or models is stored
with `to_pairs` and read with `from_pairs`, which also reads the dict that documents stored
before this change hold. Names the project restricts itself (roles, variants, option and
score names: [a-z][a-z0-9_]*) stay keys.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

NAME, VALUE = "name", "value"


def to_pairs(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stored shape of a map keyed by names, in its order."""
    return [{NAME: name, VALUE: value} for name, value in mapping.items()]


def from_pairs(stored: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None) -> dict[str, Any]:
    """A map keyed by names from its stored shape: pairs, or the dict of a document stored before."""
    if not stored:
        return {}
    if isinstance(stored, Mapping):
        return dict(stored)
    return {pair[NAME]: pair[VALUE] for pair in stored}
