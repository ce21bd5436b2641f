"""The small argument language runs share (`guard=2,prisoner=1`), for commands and menus alike."""

from __future__ import annotations

from simulator.core.parsing import parse_whole
from simulator.errors import ValidationError

MAX_COUNT = 1_000_000  # the protocol checks its own range after this


def parse_assignments(text: str, what: str, *, integer: bool = False) -> dict:
    """`a=1,b=2` -> {"a": 1, "b": 2}; a clear error for anything else."""
    values: dict = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValidationError(f"{what}: {part!r} is not NAME=VALUE", f"e.g. {'guard=2,prisoner=1' if integer else 'goal=escape'}")
        if key in values:
            raise ValidationError(f"{what}: {key} given twice")
        if integer:
            try:  # ASCII digits only: "guard=٢" is refused, not read as 2
                values[key] = parse_whole(value, 0, MAX_COUNT)
            except ValueError:
                raise ValidationError(f"{what}: {key}={value[:40]} is not a whole number (0 to {MAX_COUNT:,})") from None
        else:
            values[key] = value
    if not values:
        raise ValidationError(f"{what}: nothing given", "e.g. guard=2,prisoner=1" if integer else None)
    return values
