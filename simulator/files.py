"""Reading a file someone named on the command line or in a menu, without trusting it.

A path can name /dev/zero (endless), a FIFO (blocks forever), a socket or a huge file. Every file
the tool reads (experiments, texts, templates, imports, label files, rubrics) passes `read_limited`:
the path is looked at with stat first, which never waits, so anything but a regular file is refused
before it is opened; then it is opened without blocking (O_NONBLOCK, O_NOCTTY) and checked again from
the open descriptor (the path may have been swapped in between), and read no further than the limit.
Nothing here can wait on a writer, so every case ends at once with one line.
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
        _check_kind(os.stat(path), limit, what)  # never opens a FIFO or a device
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise ValidationError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    try:
        _check_kind(os.fstat(descriptor), limit, what)
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise ValidationError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(descriptor)
    if len(data) > limit:  # it grew while we read it
        raise ValidationError(f"{what}: file too large (more than {limit:,} bytes)")
    return data


def _check_kind(info: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in KINDS if test(info.st_mode)), "not a regular file")
        raise ValidationError(f"{what}: is {kind}, not a regular file")
    if info.st_size > limit:
        raise ValidationError(f"{what}: file too large ({info.st_size:,} bytes, at most {limit:,})")


def read_text(path: Path | str, limit: int, what: str, *, encoding: str = "utf-8") -> str:
    """`read_limited`, decoded; text that is not `encoding` is one ValidationError."""
    data = read_limited(path, limit, what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{what}: not {encoding.upper().removesuffix('-SIG')} text (byte 0x{data[exc.start]:02x} "
                              f"at offset {exc.start})") from None


def check_writable(path: Path | str, what: str) -> None:
    """Before any work is done for it: a file can be written at `path`."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValidationError(f"{what}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValidationError(f"{what}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValidationError(f"{what}: not writable")


def write_text(path: Path | str, text: str, what: str) -> None:
    """Write `text` to a file someone named, or one ValidationError saying why not: a full disk or
    /dev/full (ENOSPC), a FIFO no one reads (opened without blocking: ENXIO, never a hang), a folder."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_NOCTTY, 0o666)
    except OSError as exc:
        raise ValidationError(f"{what}: cannot write it ({_reason(exc)})") from None
    try:
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "w", encoding="utf-8", closefd=False) as file:
            file.write(text)
    except OSError as exc:
        raise ValidationError(f"{what}: cannot write it ({_reason(exc)})") from None
    finally:
        os.close(descriptor)


def _reason(exc: OSError) -> str:
    if exc.errno == 6:  # ENXIO: a FIFO with no reader
        return "a pipe (FIFO) that no one reads"
    return exc.strerror or str(exc)
