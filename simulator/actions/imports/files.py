"""The files of an import folder, found without trusting the folder.

A folder someone hands over may hold symbolic links (to /etc, to another user's files, to a FIFO),
thousands of files, or files of any size and shape. The walk never follows a link and refuses the
whole import, before anything is read or stored, when one is below the folder (or a path resolves
outside it) or when there are more entries than an import could mean. Each file it returns is then
read through simulator/files.py `read_limited`: a FIFO, a device or a file over the limit is refused
in one line naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from simulator.errors import ValidationError
from simulator.files import read_limited

MAX_ENTRIES = 200_000  # files and folders below an import folder


def files_below(root: Path, wanted: Callable[[str], bool], what: str) -> list[tuple[Path, str]]:
    """(file, its path relative to root) of every file whose name is `wanted`, sorted by that path."""
    if not root.is_dir():
        raise ValidationError(f"{root}: not a folder")
    base = root.resolve()
    found, seen = [], 0
    for folder, folders, files in os.walk(base, followlinks=False):
        for name in sorted(folders + files):
            seen += 1
            path = Path(folder) / name
            if path.is_symlink() or not path.resolve().is_relative_to(base):
                raise ValidationError(f"{path}: a symbolic link; the import reads only files inside {root}",
                                      "copy the files into the folder instead of linking them")
        if seen > MAX_ENTRIES:
            raise ValidationError(f"{root}: more than {MAX_ENTRIES:,} files and folders below it; import a "
                                  f"smaller folder")
        found += [(Path(folder) / name, str((Path(folder) / name).relative_to(base))) for name in files
                  if wanted(name)]
    if not found:
        raise ValidationError(f"{root}: no {what} below it")
    return sorted(found, key=lambda item: item[1])


def read_utf8(path: Path, limit: int, relative: str) -> tuple[str, bytes]:
    """(text, bytes) of one file, bounded; a file that is not UTF-8 is one ValidationError naming it."""
    raw = read_limited(path, limit, relative)
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{relative}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") \
            from None
