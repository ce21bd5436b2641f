"""Ollama through its native chat API.

Chat calls go through simulator.llm.http (a tenth of the ollama client's CPU per call); the
ollama package lists and pulls models. A model the server lacks is pulled once, with a
progress bar, before the first call. Ollama 0.11.4 gives no log-probabilities: asked for, they
are recorded as unavailable (None) with one warning, never as zeros.
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from simulator.llm.bounds import usage_counts
from simulator.llm.clients import shared_client
from simulator.llm.http import HttpFailure, post_json, short
from simulator.llm.provider import Capabilities, Endpoint, IgnoredOptions, Provider
from simulator.llm.types import ChatMessage, ChatOptions, ModelCallError, PullProgress, Reply, retryable_status
from simulator.logs import get_logger

log = get_logger("llm.ollama")
CAPABILITIES = Capabilities(seed=True, top_k=True, structured_output=True, logprobs=False)
_ignored = IgnoredOptions(log, CAPABILITIES)

REFUSED = "connection refused (is Ollama running?)"
MALFORMED = "malformed response (not the JSON Ollama sends)"


# (endpoint, model) -> digest, learned once per process: a batch builds a provider per
# conversation, and each would otherwise ask the server for its model list again.
_digests: dict[tuple[str, str], str] = {}


class OllamaChatModel:
    def __init__(self, name: str, host: str, *, timeout: float | None = None,
                 on_pull: PullProgress | None = None):
        self.name = name
        self.spec = f"ollama/{name}"
        self.endpoint = host
        self._timeout = timeout
        self._on_pull = on_pull

    @property
    def _client(self):
        import ollama  # the package only where it lists and pulls: importing it costs every command's start

        return shared_client("ollama", self.endpoint, None, self._timeout,
                             lambda: ollama.AsyncClient(host=self.endpoint, timeout=self._timeout))

    def _error(self, exc: BaseException) -> ModelCallError:
        return ollama_error(self.spec, self.endpoint, exc)

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        digest = _digests.get((self.endpoint, self.name)) or await self.ensure_available()
        request: dict[str, Any] = {"model": self.name, "messages": list(messages), "stream": False,
                                   "options": native_options(options, self.spec)}
        if options.json_schema:
            request["format"] = dict(options.json_schema)
        started = time.perf_counter()
        try:
            response = await post_json(f"{self.endpoint.rstrip('/')}/api/chat", request, timeout=self._timeout)
            text = response["message"].get("content") or ""
            counts = usage_counts(response.get("prompt_eval_count"), response.get("eval_count"))
        except HttpFailure as exc:
            raise http_error(self.spec, self.endpoint, exc) from exc
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ModelCallError(self.spec, self.endpoint, MALFORMED, retryable=True) from exc
        return Reply(
            text=text if isinstance(text, str) else str(text),
            **counts,
            latency=time.perf_counter() - started,
            model=str(response.get("model") or self.name),
            digest=digest,
            truncated=response.get("done_reason") == "length",
        )

    async def ensure_available(self) -> str:
        """The model's digest; the model is pulled first when this server lacks it."""
        try:
            digest = await self._find_digest()
            if digest is None:
                await self.pull()
                digest = await self._find_digest()
        except ModelCallError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        _digests[(self.endpoint, self.name)] = digest or ""
        return digest or ""

    async def _find_digest(self) -> str | None:
        wanted = {self.name, f"{self.name}:latest"}
        for model in (await self._client.list()).models:
            if model.model in wanted:
                return model.digest
        return None

    async def pull(self) -> None:
        log.info("pulling %s from %s", self.name, self.endpoint)
        try:
            async for progress in await self._client.pull(self.name, stream=True):
                if self._on_pull:
                    self._on_pull(progress.status or "", progress.completed, progress.total)
        except Exception as exc:
            cause = ollama_error(self.spec, self.endpoint, exc).cause
            raise ModelCallError(self.spec, self.endpoint, f"model not on this server and pulling it failed: "
                                 f"{cause} (check the name; pulling needs the Ollama registry)",
                                 retryable=False) from exc

    async def list_models(self) -> list[dict[str, Any]]:
        try:
            listing = await self._client.list()
        except Exception as exc:
            raise self._error(exc) from exc
        return [{"name": m.model, "size": int(m.size or 0), "digest": m.digest,
                 "parameters": m.details.parameter_size if m.details else None} for m in listing.models]


def native_options(options: ChatOptions, spec: str = "ollama") -> dict[str, Any]:
    """Ollama names max_tokens num_predict; everything else maps one to one."""
    values = _ignored.drop(spec, options.as_dict())
    values.pop("json_schema", None)  # sent as the request's `format`, not as an option
    if "max_tokens" in values:
        values["num_predict"] = values.pop("max_tokens")
    return values


def http_error(spec: str, endpoint: str, failure: HttpFailure) -> ModelCallError:
    """A failed chat call in the words ollama_error uses for the ollama package's errors."""
    if failure.kind == "timeout":
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if failure.kind == "connection":
        return ModelCallError(spec, endpoint, REFUSED, retryable=True)
    if failure.kind == "status" and failure.status is not None:
        return ModelCallError(spec, endpoint, f"HTTP {failure.status}: {short(failure.detail)}",
                              retryable=retryable_status(failure.status), status=failure.status)
    return ModelCallError(spec, endpoint, MALFORMED, retryable=True)


def ollama_error(spec: str, endpoint: str, exc: BaseException) -> ModelCallError:
    import httpx
    import ollama
    import pydantic

    if isinstance(exc, ollama.ResponseError):
        status = exc.status_code
        if status < 0:  # an error reported inside a stream, with no HTTP status
            return ModelCallError(spec, endpoint, short(exc.error), retryable=False)
        return ModelCallError(spec, endpoint, f"HTTP {status}: {short(exc.error)}",
                              retryable=retryable_status(status), status=status)
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        return ModelCallError(spec, endpoint, REFUSED, retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError)):
        return ModelCallError(spec, endpoint, MALFORMED, retryable=True)
    if isinstance(exc, httpx.HTTPError):
        return ModelCallError(spec, endpoint, f"{type(exc).__name__}: {short(str(exc))}", retryable=True)
    return ModelCallError(spec, endpoint, f"{type(exc).__name__}: {short(str(exc))}", retryable=False)


class OllamaProvider(Provider):
    api = "ollama"
    title = "Ollama"
    url_setting = "OLLAMA_HOST"
    default_url = "http://127.0.0.1:11434"
    capabilities = CAPABILITIES

    def default_endpoint(self, settings) -> Endpoint:
        return Endpoint(self.api, self.api, settings.ollama_host)

    def chat_model(self, endpoint: Endpoint, name: str, *, timeout: float | None = None,
                   on_pull: PullProgress | None = None) -> OllamaChatModel:
        model = OllamaChatModel(name, endpoint.url, timeout=timeout, on_pull=on_pull)
        model.spec = f"{endpoint.name}/{name}"
        return model

    async def list_models(self, endpoint: Endpoint) -> list[str]:
        return [m["name"] for m in await OllamaChatModel("", endpoint.url).list_models()]

    async def preflight(self, model) -> None:
        await model.ensure_available()


PROVIDER = OllamaProvider()
