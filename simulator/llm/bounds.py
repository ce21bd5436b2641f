"""What a model's reply may be: a bounded text and sane token counts, whatever the server sent.

A server is not trusted to answer in proportion: a reply of 5 MB was printed for 42 s and then
could not be stored (its recorded call passed 16 MB), a token count of 10^30 overflowed the
store's integers, a negative one was summed into the budgets. So:

- every reply is cut to the maximum reply size (SIM_MAX_REPLY_CHARS, default 200,000 characters);
  a cut reply is marked truncated (the cleaners then drop its unfinished last sentence) and its
  length before the cut is recorded (`cut_from`, on the recorded call and in the message's usage);
  log-probabilities are kept for at most MAX_LOGPROB_TOKENS tokens;
- a token count is a whole number from 0 to MAX_TOKENS_PER_CALL: anything else (negative, too
  large, fractional, not a number) counts as 0, or as the cap when too large, and the server's
  own values are kept beside the counts (`raw_usage`) so nothing it said is lost.

Providers read their counts through `usage_counts`; `BoundedModel` sits right around the provider
in every model stack (simulator/llm/factory.py), so retries, recording, metering and the screen
only ever see a bounded reply.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, Reply

DEFAULT_MAX_REPLY_CHARS = 200_000
MAX_REPLY_CHARS_RANGE = (1_000, 2_000_000)  # a message stores its text twice: under 16 MB either way
MAX_TOKENS_PER_CALL = 100_000_000  # far beyond any context window; a larger count is a server's mistake
MAX_LOGPROB_TOKENS = 20_000
RAW_TEXT_LIMIT = 200


def token_count(raw: Any) -> int:
    """A server's token count as a sane number: 0 for what is not a count, the cap for what exceeds it."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return 0
    if isinstance(raw, float) and (not math.isfinite(raw) or not raw.is_integer()):
        return MAX_TOKENS_PER_CALL if raw == math.inf else 0
    return max(0, min(int(raw), MAX_TOKENS_PER_CALL))


def usage_counts(prompt: Any, completion: Any) -> dict[str, Any]:
    """Reply fields for a server's two counts: sane ints, and the raw values when either was not one."""
    counts = {"prompt_tokens": token_count(prompt or 0), "completion_tokens": token_count(completion or 0)}
    raw = {"prompt_tokens": prompt, "completion_tokens": completion}
    faithful = all(isinstance(v, int) and not isinstance(v, bool) and counts[k] == v
                   for k, v in raw.items() if v is not None)
    return {**counts, "raw_usage": None if faithful else {k: _kept(v) for k, v in raw.items()}}


def _kept(value: Any) -> Any:
    """A raw value as it can be recorded: numbers and short texts as they are, anything else as its repr."""
    if value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= RAW_TEXT_LIMIT):
        return value
    return repr(value)[:RAW_TEXT_LIMIT]


def bounded(reply: Reply, max_chars: int) -> Reply:
    """The reply cut to `max_chars` characters (and its log-probabilities to MAX_LOGPROB_TOKENS)."""
    text = reply.text if isinstance(reply.text, str) else str(reply.text)
    logprobs = reply.logprobs
    if logprobs is not None and len(logprobs) > MAX_LOGPROB_TOKENS:
        logprobs = logprobs[:MAX_LOGPROB_TOKENS]
    if len(text) <= max_chars and logprobs is reply.logprobs and text is reply.text:
        return reply
    cut = len(text) > max_chars
    return dataclasses.replace(reply, text=text[:max_chars], logprobs=logprobs, truncated=reply.truncated or cut,
                               cut_from=len(text) if cut else reply.cut_from)


class BoundedModel:
    """Every reply of the model inside, bounded (see the module docstring)."""

    def __init__(self, inner: ChatModel, max_chars: int = DEFAULT_MAX_REPLY_CHARS):
        self.inner = inner
        self.spec, self.endpoint = inner.spec, inner.endpoint
        self.max_chars = max_chars

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        return bounded(await self.inner.chat(messages, options), self.max_chars)
