"""Anthropic's Messages API (`anthropic/MODEL`, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL).

The API differs from OpenAI's in what the backrooms study depended on: the system prompt is a
field of its own, turns must alternate user/assistant starting with the user, and `max_tokens`
is required (1024 when a run sets none, as the backrooms study sent). Consecutive turns of one
role are merged with a blank line; a conversation that would open with the assistant gets a
one-line user turn first, as the study's templates open every Claude context with one. No
seeds, structured output or log-probabilities: asked for, they are ignored with one warning.

Calls go through simulator.llm.http, not the official SDK: the SDK's client is httpx, which cost
1.9 ms of CPU per call against aiohttp's 0.1-0.2 ms when measured for the OpenAI path
(simulator/llm/http.py); the SDK brings nothing a plain JSON POST does not.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from simulator.llm.bounds import usage_counts
from simulator.llm.http import HttpFailure, post_json, short
from simulator.llm.provider import Capabilities, Endpoint, IgnoredOptions, Provider
from simulator.llm.types import ChatMessage, ChatOptions, ModelCallError, Reply, retryable_status
from simulator.logs import get_logger

log = get_logger("llm.anthropic")

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
OPENING = "(The conversation begins.)"  # the user turn a context that opens with the assistant gets
MALFORMED = "malformed response (not an Anthropic message)"
CAPABILITIES = Capabilities(seed=False, top_k=True, structured_output=False, logprobs=False)
_ignored = IgnoredOptions(log, CAPABILITIES)


class AnthropicChatModel:
    def __init__(self, name: str, *, api_key: str | None, base_url: str, timeout: float | None = None,
                 spec: str | None = None):
        self.name = name
        self.spec = spec or f"anthropic/{name}"
        self.endpoint = base_url.rstrip("/")
        self._api_key = api_key or "not-needed"  # a local server ignores it; the header must still be there
        self._timeout = timeout

    @property
    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "anthropic-version": API_VERSION}

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        request = {"model": self.name, **request_body(messages), **self.request_options(options)}
        started = time.perf_counter()
        try:
            answer = await post_json(f"{self.endpoint}/v1/messages", request, headers=self._headers,
                                     timeout=self._timeout)
            text = "".join(block["text"] for block in answer["content"] if block.get("type") == "text")
            usage = answer.get("usage") or {}
            counts = usage_counts(usage.get("input_tokens"), usage.get("output_tokens"))
        except HttpFailure as exc:
            raise http_error(self.spec, self.endpoint, exc) from exc
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ModelCallError(self.spec, self.endpoint, MALFORMED, retryable=True) from exc
        return Reply(text=text, **counts, latency=time.perf_counter() - started,
                     model=str(answer.get("model") or self.name),
                     truncated=answer.get("stop_reason") == "max_tokens", stop_reason=answer.get("stop_reason"))

    def request_options(self, options: ChatOptions) -> dict[str, Any]:
        values = _ignored.drop(self.spec, options.as_dict())
        body: dict[str, Any] = {"max_tokens": values.get("max_tokens") or DEFAULT_MAX_TOKENS}
        for name in ("temperature", "top_p", "top_k"):
            if name in values:
                body[name] = values[name]
        if values.get("stop"):
            body["stop_sequences"] = values["stop"]
        return body

    async def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The Messages API's free token count: what preflight asks to learn that the server speaks this API."""
        try:
            answer = await post_json(f"{self.endpoint}/v1/messages/count_tokens",
                                     {"model": self.name, **request_body(messages)}, headers=self._headers,
                                     timeout=self._timeout)
            return int(answer["input_tokens"])
        except HttpFailure as exc:
            error = http_error(self.spec, self.endpoint, exc)
            if exc.status in (404, 405):
                raise ModelCallError(self.spec, self.endpoint, f"does not answer Anthropic's Messages API "
                                     f"(HTTP {exc.status} for /v1/messages); check ANTHROPIC_BASE_URL or the "
                                     f"endpoint's URL", retryable=False, status=exc.status) from exc
            raise error from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelCallError(self.spec, self.endpoint, "does not answer Anthropic's Messages API (an answer "
                                 "without input_tokens); check ANTHROPIC_BASE_URL", retryable=False) from exc


def request_body(messages: Sequence[ChatMessage]) -> dict[str, Any]:
    """System prompts into `system`; the other turns alternating, opening with the user."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns: list[dict[str, str]] = []
    for message in messages:
        role = message["role"]
        if role == "system":
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1] = {"role": role, "content": f"{turns[-1]['content']}\n\n{message['content']}"}
        else:
            turns.append({"role": role, "content": message["content"]})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": OPENING})
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    return body


def http_error(spec: str, endpoint: str, failure: HttpFailure) -> ModelCallError:
    if failure.kind == "timeout":
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if failure.kind == "connection":
        return ModelCallError(spec, endpoint, "connection failed (is the server running?)", retryable=True)
    if failure.kind == "status" and failure.status is not None:
        message = "the API key was refused (check ANTHROPIC_API_KEY)" if failure.status == 401 else \
            short(failure.detail)
        # 429 rate limit and 529 overloaded pass with time, as every 5xx; Retry-After is honoured
        return ModelCallError(spec, endpoint, f"HTTP {failure.status}: {message}",
                              retryable=retryable_status(failure.status), retry_after=failure.retry_after,
                              status=failure.status)
    return ModelCallError(spec, endpoint, MALFORMED, retryable=True)


class AnthropicProvider(Provider):
    api = "anthropic"
    title = "Anthropic Messages API"
    url_setting = "ANTHROPIC_BASE_URL"
    default_url = "https://api.anthropic.com"
    key_setting = "ANTHROPIC_API_KEY"
    needs_key = True
    capabilities = CAPABILITIES
    # US dollars per million tokens (input, output), from the public price page.
    prices = {"claude-3-opus-20240229": (15.00, 75.00), "claude-3-5-sonnet-20240620": (3.00, 15.00),
              "claude-3-5-sonnet-20241022": (3.00, 15.00), "claude-3-5-haiku-20241022": (0.80, 4.00),
              "claude-3-haiku-20240307": (0.25, 1.25)}

    def chat_model(self, endpoint: Endpoint, name: str, *, timeout: float | None = None,
                   on_pull=None) -> AnthropicChatModel:
        return AnthropicChatModel(name, api_key=endpoint.key, base_url=endpoint.url, timeout=timeout,
                                  spec=f"{endpoint.name}/{name}")

    async def preflight(self, model: AnthropicChatModel) -> None:
        await model.count_tokens([{"role": "user", "content": "Hello"}])


PROVIDER = AnthropicProvider()
