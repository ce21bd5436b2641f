"""Reading a file someone named on the command line or in a menu, without trusting it.

A path can name /dev/zero (endless), a FIFO (blocks forever) or a huge file: it is opened
without blocking, checked to be a regular file and within the size limit from the open
descriptor, and read no further than the limit, so every case ends at once with one line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from simulator.errors import ValidationError

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISCHR, "a device"),
         (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def read_limited(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or one ValidationError saying why not."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValidationError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in KINDS if test(info.st_mode)), "not a regular file")
            raise ValidationError(f"{what}: is {kind}, not a regular file")
        raise ValidationError(f"{what}: file too large ({info.st_size:,} bytes, at most {limit:,})")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:  # it grew while we read it
        raise ValidationError(f"{what}: file too large (more than {limit:,} bytes)")
    return data


def check_writable(path: Path | str, what: str) -> None:
    """Before any work is done for it: a file can be written at `path`."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValidationError(f"{what}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValidationError(f"{what}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValidationError(f"{what}: not writable")
