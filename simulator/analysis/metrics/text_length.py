"""Length of a message in characters (Unicode code points), the simplest drift measure of a chain."""

from __future__ import annotations


def length(text: str) -> float:
    """Number of characters."""
    return float(len(text))
