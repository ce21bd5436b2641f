"""Ids a researcher types: 24 hex characters, or one clear line (ObjectId(None) would make one up)."""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId

from simulator.errors import NotFound


def is_id(text: str | None) -> bool:
    return bool(text) and ObjectId.is_valid(text)


def parse_id(text: str | None, what: str, hint: str = "ids are 24 hex characters") -> ObjectId:
    if not text:
        raise NotFound(f"give the {what} id", hint)
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        raise NotFound(f"{text!r} is not a {what} id", hint) from None
