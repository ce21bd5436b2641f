"""The small argument language runs share (`guard=2,prisoner=1`), for commands and menus alike."""

from __future__ import annotations

from simulator.errors import ValidationError


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
            if not value.isdigit():
                raise ValidationError(f"{what}: {key}={value} is not a whole number")
            values[key] = int(value)
        else:
            values[key] = value
    if not values:
        raise ValidationError(f"{what}: nothing given", "e.g. guard=2,prisoner=1" if integer else None)
    return values
