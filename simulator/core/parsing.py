"""The one reading of a number or a server URL a person wrote: flags, settings, files, menus.

Python's int() reads "٣" (an Arabic-Indic three), "1_000" and a string of 10,000 digits (then
fails with a ValueError about digits), float() reads "nan", "inf" and "1e999", urlsplit() takes
any scheme and a port in any script's digits. So every such value passes here: ASCII digits only,
a bounded length, a range always checked; URLs with an allowed scheme, a host name or address and a
port from 1 to 65535. Each function raises ValueError with a sentence naming what is allowed; the
callers put it in their own kind of error (a flag's, a setting's, a file's).
"""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

WHOLE = re.compile(r"[+-]?[0-9]{1,40}")
NUMBER = re.compile(r"[+-]?([0-9]{1,40}(\.[0-9]{0,40})?|\.[0-9]{1,40})([eE][+-]?[0-9]{1,4})?")
HOST_NAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?")
PORT = re.compile(r"[0-9]{1,5}")
URL_SCHEMES = ("http", "https")
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def describe_range(low: float, high: float, low_open: bool = False) -> str:
    return f"more than {low:g}, at most {high:g}" if low_open else f"{low:g} to {high:g}"


def parse_whole(text: str, low: int, high: int) -> int:
    """A whole number in ASCII digits within [low, high]."""
    raw = str(text).strip()
    if not WHOLE.fullmatch(raw):
        raise ValueError(f"{_shown(raw)} is not a whole number (allowed: {describe_range(low, high)})")
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range (allowed: {describe_range(low, high)})")
    return value


def parse_number(text: str, low: float, high: float, *, low_open: bool = False) -> float:
    """A finite decimal number in ASCII digits within [low, high] (or (low, high] when low_open)."""
    raw = str(text).strip()
    allowed = describe_range(low, high, low_open)
    if not NUMBER.fullmatch(raw):
        raise ValueError(f"{_shown(raw)} is not a number (allowed: {allowed})")
    value = float(raw)
    if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        raise ValueError(f"{raw} is out of range (allowed: {allowed})")
    return value


def parse_server_url(text: str) -> str:
    """An http(s) URL with a valid host and, if any, a port from 1 to 65535; a bare host[:port] gets http://."""
    raw = str(text).strip()
    url = raw if "://" in raw else f"http://{raw}"
    if _UNSAFE_IN_URL.search(url) or not url.isascii():
        raise ValueError("a URL is plain ASCII without spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme not in URL_SCHEMES:
        raise ValueError(f"the scheme must be {' or '.join(URL_SCHEMES)}")
    host, port = _host_and_port(parts.netloc.rsplit("@", 1)[-1])
    if not _valid_host(host):
        raise ValueError("no valid host name or address")
    if port is not None and not (PORT.fullmatch(port) and 1 <= int(port) <= 65535):
        raise ValueError("the port must be a whole number from 1 to 65535")
    return url


def _host_and_port(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        if not rest:
            return host, None
        return host, rest[1:] if rest.startswith(":") else "?"
    host, sep, port = netloc.partition(":")
    return host, port if sep else None


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOST_NAME.fullmatch(host)) and not host.replace(".", "").isdigit()


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")
