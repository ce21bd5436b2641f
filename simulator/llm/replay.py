"""Record every call's request and reply, and replay them later with no server.

Calls are keyed by a hash of (scope, model, messages, options) plus how many times that
same request was made before in this scope, so a conversation that asks the same thing
twice replays both answers in order. Recording never overwrites: the first answer wins.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
import dataclasses
from typing import Any, Protocol, Sequence

from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, ModelCallError, Reply


class CallStore(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, document: dict[str, Any]) -> None: ...


def request_hash(spec: str, messages: Sequence[ChatMessage], options: ChatOptions, scope: str = "") -> str:
    payload = {"scope": scope, "model": spec, "messages": [dict(m) for m in messages], "options": options.as_dict()}
    # surrogatepass: a lone surrogate a server sent (JSON "\\ud800") is hashed, not an error; other text as before
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
                          ).hexdigest()


class _Keyed:
    def __init__(self, spec: str, scope: str):
        self.spec, self.scope = spec, scope
        self._seen: Counter[str] = Counter()

    def next_key(self, messages: Sequence[ChatMessage], options: ChatOptions) -> str:
        digest = request_hash(self.spec, messages, options, self.scope)
        occurrence = self._seen[digest]
        self._seen[digest] += 1
        return f"{digest}:{occurrence}"


class RecordingModel:
    def __init__(self, inner: ChatModel, calls: CallStore, scope: str = ""):
        self.inner = inner
        self.spec, self.endpoint = inner.spec, inner.endpoint
        self.calls = calls
        self._keys = _Keyed(inner.spec, scope)

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        key = self._keys.next_key(messages, options)
        reply = await self.inner.chat(messages, options)
        await self.calls.put(key, {"model": self.spec, "scope": self._keys.scope, "messages": list(messages),
                                   "options": options.as_dict(), "reply": reply.to_document()})
        return reply


class ReplayModel:
    """Answers only from recorded calls; a request never recorded is an error."""

    def __init__(self, spec: str, calls: CallStore, scope: str = "", endpoint: str = "replay"):
        self.spec, self.endpoint = spec, endpoint
        self.calls = calls
        self._keys = _Keyed(spec, scope)

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        key = self._keys.next_key(messages, options)
        recorded = await self.calls.get(key)
        if recorded is None:
            raise ModelCallError(self.spec, self.endpoint, "this request was never recorded, so it cannot be "
                                 "replayed (run it once without --replay)", retryable=False)
        return dataclasses.replace(Reply.from_document(recorded["reply"]), replayed=True)
