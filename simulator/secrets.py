"""Secrets never reach the screen, the logs or the shared database: one scrubber that all three pass.

An OpenAI-compatible server that echoes the request's Authorization header in its error
body once put the API key on screen and into the conversation's `error` field, which every
colleague can read; a password inside OLLAMA_HOST reached `models list`. So the known secrets
(API keys, passwords, the password of any URL among the settings) and anything shaped like
one (the password in `scheme://user:password@host`, a `Bearer` token, an `sk-...` key) are
replaced by *** in every line written to the terminal (the CLI's stdout and stderr pass
`ScrubbingStream`), every log record (logs.py), and every field written to MongoDB (the
store's collections pass every written string through `scrub`). Registered secrets are
process-wide on purpose: the terminal and the logs are.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, TextIO

MASK = "***"
SHAPES = (
    (re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)"), rf"\g<keep>{MASK}"),
    (re.compile(r"(?P<keep>\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<keep>{MASK}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), f"sk-{MASK}"),
)

_known: tuple[str, ...] = ()  # longest first, so a secret containing another is masked whole


def register(values: Iterable[str | None]) -> None:
    """Secrets to hide from now on (short values are ignored: masking "a" would garble everything)."""
    global _known
    _known = tuple(sorted(set(_known).union(v for v in values if v and len(v) >= 4), key=len, reverse=True))


def scrub(text: str) -> str:
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    # Every document written passes here (a recorded call holds its whole prompt): the patterns
    # run only on text that has what each needs.
    if ("://" in text and "@" in text) or "Bearer" in text or "sk-" in text:
        for pattern, replacement in SHAPES:
            text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any) -> Any:
    """The value with every string in it scrubbed (documents before they are written)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_value(v) for v in value)
    return value


class ScrubbingStream:
    """A text stream (stdout, stderr) that scrubs what is written through it."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding ... of the real stream
        return getattr(self._stream, name)
