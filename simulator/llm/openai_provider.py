"""OpenAI, or any OpenAI-compatible server (vLLM, LM Studio, llama.cpp, Ollama's /v1).

Chat calls go through simulator.llm.http (a tenth of the SDK client's CPU per call); the SDK
lists models.
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

import openai
import pydantic

from simulator.config import DEFAULT_OPENAI_BASE_URL
from simulator.llm.clients import shared_client
from simulator.llm.http import HttpFailure, post_json
from simulator.llm.types import ChatMessage, ChatOptions, ModelCallError, Reply, retryable_status
from simulator.logs import get_logger

log = get_logger("llm.openai")

# Models that reject the system role: their system prompt goes into the first user turn.
NO_SYSTEM_ROLE_PREFIXES = ("o1-mini", "o1-preview", "gemma")
UNSUPPORTED_OPTIONS = ("top_k",)
MALFORMED = "malformed response (not an OpenAI chat completion)"

_warned: set[tuple[str, str]] = set()


class OpenAIChatModel:
    def __init__(self, name: str, *, api_key: str | None, base_url: str | None = None,
                 timeout: float | None = None):
        self.name = name
        self.spec = f"openai/{name}"
        self.endpoint = (base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        self._api_key = api_key or "not-needed"  # local servers ignore the key, but the client insists on one
        self._timeout = timeout

    @property
    def _client(self) -> openai.AsyncOpenAI:
        return shared_client("openai", self.endpoint, self._api_key, self._timeout, lambda: openai.AsyncOpenAI(
            api_key=self._api_key, base_url=self.endpoint, max_retries=0, timeout=self._timeout))

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        request = dict(model=self.name, messages=self.prepare_messages(messages), **self.request_options(options))
        started = time.perf_counter()
        try:
            completion = await post_json(f"{self.endpoint}/chat/completions", request, timeout=self._timeout,
                                         headers={"Authorization": f"Bearer {self._api_key}"})
            choice = completion["choices"][0]
            text = choice["message"].get("content") or ""
            usage = completion.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except HttpFailure as exc:
            raise http_error(self.spec, self.endpoint, exc) from exc
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise ModelCallError(self.spec, self.endpoint, MALFORMED, retryable=True) from exc
        return Reply(
            text=text if isinstance(text, str) else str(text),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency=time.perf_counter() - started,
            model=str(completion.get("model") or self.name),
            digest=completion.get("system_fingerprint"),
            truncated=choice.get("finish_reason") == "length",
        )

    def prepare_messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        if not self.name.startswith(NO_SYSTEM_ROLE_PREFIXES):
            return list(messages)
        return fold_system_prompt(messages)

    def request_options(self, options: ChatOptions) -> dict[str, Any]:
        values = options.as_dict()
        schema = values.pop("json_schema", None)
        if schema:
            values["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "answer", "schema": schema, "strict": False}}
        for name in UNSUPPORTED_OPTIONS:
            if values.pop(name, None) is not None and (self.spec, name) not in _warned:
                _warned.add((self.spec, name))
                log.warning("%s: the OpenAI API has no %s; it is ignored for this model", self.spec, name)
        return values

    async def list_models(self) -> list[str]:
        try:
            return sorted([m.id async for m in self._client.models.list()])
        except Exception as exc:
            raise openai_error(self.spec, self.endpoint, exc) from exc


def fold_system_prompt(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Merge system messages into the first user message, keeping everything else in order."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def http_error(spec: str, endpoint: str, failure: HttpFailure) -> ModelCallError:
    """A failed chat call in the words openai_error uses for the SDK's errors."""
    if failure.kind == "timeout":
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if failure.kind == "connection":
        return ModelCallError(spec, endpoint, "connection failed (is the server running?)", retryable=True)
    if failure.kind == "status" and failure.status is not None:
        message = "the API key was refused (check OPENAI_API_KEY)" if failure.status == 401 else _short(failure.detail)
        return ModelCallError(spec, endpoint, f"HTTP {failure.status}: {message}",
                              retryable=retryable_status(failure.status), retry_after=failure.retry_after,
                              status=failure.status)
    return ModelCallError(spec, endpoint, MALFORMED, retryable=True)


def openai_error(spec: str, endpoint: str, exc: BaseException) -> ModelCallError:
    if isinstance(exc, openai.APITimeoutError):
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ModelCallError(spec, endpoint, "connection failed (is the server running?)", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = _retry_after(exc.response.headers.get("retry-after"))
        message = _short(exc.message)
        if status == 401:
            message = "the API key was refused (check OPENAI_API_KEY)"
        return ModelCallError(spec, endpoint, f"HTTP {status}: {message}", retryable=retryable_status(status),
                              retry_after=retry_after, status=status)
    if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError, openai.APIResponseValidationError,
                        AttributeError, IndexError, KeyError, TypeError, ValueError)):
        return ModelCallError(spec, endpoint, MALFORMED, retryable=True)
    return ModelCallError(spec, endpoint, f"{type(exc).__name__}: {_short(str(exc))}", retryable=False)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."
