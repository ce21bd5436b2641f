"""OpenAI, or any OpenAI-compatible server (vLLM, LM Studio, llama.cpp, Ollama's /v1).

Chat calls go through simulator.llm.http (a tenth of the SDK client's CPU per call); the SDK
lists models. Log-probabilities are asked for with `logprobs`/`top_logprobs` (OpenAI, vLLM and
llama.cpp's server give them). Reasoning models (o1, o3, o4) take `max_completion_tokens` and
only their default temperature.
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from simulator.config import DEFAULT_OPENAI_BASE_URL
from simulator.llm.bounds import usage_counts
from simulator.llm.clients import shared_client
from simulator.llm.http import HttpFailure, post_json, short
from simulator.llm.provider import Capabilities, Endpoint, IgnoredOptions, Provider
from simulator.llm.types import ChatMessage, ChatOptions, ModelCallError, Reply, TokenLogprob, retryable_status
from simulator.logs import get_logger

log = get_logger("llm.openai")

# Models that reject the system role: their system prompt goes into the first user turn.
NO_SYSTEM_ROLE_PREFIXES = ("o1-mini", "o1-preview", "gemma")
# Reasoning models: max_completion_tokens instead of max_tokens, and no sampling parameters.
REASONING_PREFIXES = ("o1", "o3", "o4")
MAX_TOP_LOGPROBS = 20  # the API's limit
MALFORMED = "malformed response (not an OpenAI chat completion)"
CAPABILITIES = Capabilities(seed=True, top_k=False, structured_output=True, logprobs=True)
_ignored = IgnoredOptions(log, CAPABILITIES)


class OpenAIChatModel:
    def __init__(self, name: str, *, api_key: str | None, base_url: str | None = None,
                 timeout: float | None = None):
        self.name = name
        self.spec = f"openai/{name}"
        self.endpoint = (base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        self._api_key = api_key or "not-needed"  # local servers ignore the key, but the client insists on one
        self._timeout = timeout

    @property
    def _client(self):
        import openai  # the SDK only lists models; importing it adds half a second to a command's start

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
            counts = usage_counts(usage.get("prompt_tokens"), usage.get("completion_tokens"))
            logprobs = read_logprobs(choice.get("logprobs")) if options.logprobs else None
        except HttpFailure as exc:
            raise http_error(self.spec, self.endpoint, exc) from exc
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise ModelCallError(self.spec, self.endpoint, MALFORMED, retryable=True) from exc
        return Reply(
            text=text if isinstance(text, str) else str(text),
            **counts,
            latency=time.perf_counter() - started,
            model=str(completion.get("model") or self.name),
            digest=completion.get("system_fingerprint"),
            truncated=choice.get("finish_reason") == "length",
            stop_reason=choice.get("finish_reason"),
            logprobs=logprobs,
        )

    def prepare_messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        if not self.name.startswith(NO_SYSTEM_ROLE_PREFIXES):
            return list(messages)
        return fold_system_prompt(messages)

    def request_options(self, options: ChatOptions) -> dict[str, Any]:
        values = _ignored.drop(self.spec, options.as_dict())
        schema = values.pop("json_schema", None)
        if schema:
            values["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "answer", "schema": schema, "strict": False}}
        top = values.pop("logprobs", None)
        if top is not None:
            values.update(logprobs=True, top_logprobs=max(0, min(int(top), MAX_TOP_LOGPROBS)))
        if self.name.startswith(REASONING_PREFIXES):
            if "max_tokens" in values:
                values["max_completion_tokens"] = values.pop("max_tokens")
            for name in ("temperature", "top_p"):
                if values.pop(name, None) is not None:
                    _ignored.log.info("%s: a reasoning model takes no %s; left out", self.spec, name)
        return values

    async def list_models(self) -> list[str]:
        try:
            return sorted([m.id async for m in self._client.models.list()])
        except Exception as exc:
            raise openai_error(self.spec, self.endpoint, exc) from exc


def read_logprobs(block: Any) -> tuple[TokenLogprob, ...] | None:
    """`choices[0].logprobs.content` as TokenLogprobs; None when the server sent none."""
    if not isinstance(block, dict) or not isinstance(block.get("content"), list):
        return None
    return tuple(TokenLogprob(str(item["token"]), float(item["logprob"]),
                              tuple((str(t["token"]), float(t["logprob"])) for t in item.get("top_logprobs") or ()))
                 for item in block["content"])


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
        message = "the API key was refused (check OPENAI_API_KEY)" if failure.status == 401 else short(failure.detail)
        return ModelCallError(spec, endpoint, f"HTTP {failure.status}: {message}",
                              retryable=retryable_status(failure.status), retry_after=failure.retry_after,
                              status=failure.status)
    return ModelCallError(spec, endpoint, MALFORMED, retryable=True)


def openai_error(spec: str, endpoint: str, exc: BaseException) -> ModelCallError:
    import openai
    import pydantic

    if isinstance(exc, openai.APITimeoutError):
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ModelCallError(spec, endpoint, "connection failed (is the server running?)", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = _retry_after(exc.response.headers.get("retry-after"))
        message = short(exc.message)
        if status == 401:
            message = "the API key was refused (check OPENAI_API_KEY)"
        return ModelCallError(spec, endpoint, f"HTTP {status}: {message}", retryable=retryable_status(status),
                              retry_after=retry_after, status=status)
    if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError, openai.APIResponseValidationError,
                        AttributeError, IndexError, KeyError, TypeError, ValueError)):
        return ModelCallError(spec, endpoint, MALFORMED, retryable=True)
    return ModelCallError(spec, endpoint, f"{type(exc).__name__}: {short(str(exc))}", retryable=False)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class OpenAIProvider(Provider):
    api = "openai"
    title = "OpenAI API (and compatible servers: vLLM, llama.cpp, LM Studio, Ollama's /v1)"
    url_setting = "OPENAI_BASE_URL"
    default_url = DEFAULT_OPENAI_BASE_URL
    key_setting = "OPENAI_API_KEY"
    needs_key = True
    capabilities = CAPABILITIES
    # US dollars per million tokens (input, output), from the public price page.
    prices = {"gpt-4o": (2.50, 10.00), "gpt-4o-2024-08-06": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60),
              "gpt-4.1": (2.00, 8.00), "gpt-4.1-mini": (0.40, 1.60), "gpt-4.1-nano": (0.10, 0.40),
              "o1-preview": (15.00, 60.00), "o1-mini": (3.00, 12.00), "o3-mini": (1.10, 4.40),
              "o4-mini": (1.10, 4.40)}

    def default_endpoint(self, settings) -> Endpoint:
        return Endpoint(self.api, self.api, settings.openai_base_url or self.default_url, self.key_setting,
                        settings.openai_api_key)

    def chat_model(self, endpoint: Endpoint, name: str, *, timeout: float | None = None,
                   on_pull=None) -> OpenAIChatModel:
        model = OpenAIChatModel(name, api_key=endpoint.key, base_url=endpoint.url, timeout=timeout)
        model.spec = f"{endpoint.name}/{name}"
        return model

    async def list_models(self, endpoint: Endpoint) -> list[str]:
        return await self.chat_model(endpoint, "").list_models()

    async def preflight(self, model: OpenAIChatModel) -> None:
        """The endpoint answers the OpenAI API (its model list), so a wrong URL fails before a run is stored."""
        try:
            await model.list_models()
        except ModelCallError as exc:
            if exc.status in (404, 405):
                raise ModelCallError(model.spec, model.endpoint, f"does not answer the OpenAI API (HTTP {exc.status} "
                                     f"for /models); check OPENAI_BASE_URL or the endpoint's URL", retryable=False,
                                     status=exc.status) from exc
            raise

    def model_supports_system_role(self, name: str) -> bool:
        return not name.startswith(NO_SYSTEM_ROLE_PREFIXES)


PROVIDER = OpenAIProvider()
