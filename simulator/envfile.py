"""Merging keys into a `.env` file without disturbing anything else in it.

Auto-login remembers credentials in `.env`; the researcher's other keys, comments and
blank lines must survive, and the file holds a password, so it is written atomically
and readable by its owner only (mode 0600). Values are single-quoted when needed, the
quoting python-dotenv reads back literally (escapes only `\\'` and `\\\\`). python-dotenv
expands `${NAME}` even inside quotes, so a value containing `${` cannot be stored.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Mapping

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=")
_PLAIN = re.compile(r"[A-Za-z0-9_./:@+,%=-]*")


def quote(value: str) -> str:
    """A dotenv value that reads back exactly as `value`."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("values in .env may not contain control characters or line breaks")
    if "${" in value:
        raise ValueError("values in .env may not contain '${' (python-dotenv would expand it)")
    if _PLAIN.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def merge(text: str, updates: Mapping[str, str | None]) -> str:
    """`text` with each key set to its new value (None removes it); other lines kept as they are.

    Every assignment of an updated key is rewritten, so a duplicate further down can not
    override the new value; keys not present are appended at the end.
    """
    for key in updates:
        if not KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not a valid .env key")
    lines = text.splitlines()
    written: set[str] = set()
    merged: list[str] = []
    for line in lines:
        match = _ASSIGNMENT.match(line)
        key = match.group(1) if match else None
        if key is None or key not in updates:
            merged.append(line)
            continue
        value = updates[key]
        if value is not None and key not in written:
            merged.append(f"{key}={quote(value)}")
            written.add(key)
    missing = [k for k, v in updates.items() if v is not None and k not in written]
    if missing and merged and merged[-1].strip():
        merged.append("")
    merged.extend(f"{key}={quote(updates[key])}" for key in missing)  # type: ignore[arg-type]
    return "\n".join(merged) + "\n" if merged else ""


def update_file(path: Path, updates: Mapping[str, str | None]) -> None:
    """Merge `updates` into the file at `path` (created if absent), atomically, mode 0600."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = merge(old, updates)
    descriptor, temporary = tempfile.mkstemp(prefix=".env.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    os.chmod(path, 0o600)
