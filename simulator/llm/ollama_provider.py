"""Ollama through its native chat API (`ollama.AsyncClient`).

A model the server lacks is pulled once, with a progress bar, before the first call.
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

import httpx
import ollama
import pydantic

from simulator.llm.clients import shared_client
from simulator.llm.types import ChatMessage, ChatOptions, ModelCallError, PullProgress, Reply, retryable_status
from simulator.logs import get_logger

log = get_logger("llm.ollama")


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
    def _client(self) -> ollama.AsyncClient:
        return shared_client("ollama", self.endpoint, None, self._timeout,
                             lambda: ollama.AsyncClient(host=self.endpoint, timeout=self._timeout))

    def _error(self, exc: BaseException) -> ModelCallError:
        return ollama_error(self.spec, self.endpoint, exc)

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        digest = _digests.get((self.endpoint, self.name)) or await self.ensure_available()
        started = time.perf_counter()
        try:
            response = await self._client.chat(model=self.name, messages=list(messages),
                                               options=native_options(options), stream=False,
                                               format=dict(options.json_schema) if options.json_schema else None)
        except Exception as exc:  # every failure becomes a ModelCallError the retry wrapper reads
            raise self._error(exc) from exc
        latency = time.perf_counter() - started
        return Reply(
            text=response.message.content or "",
            prompt_tokens=response.prompt_eval_count or 0,
            completion_tokens=response.eval_count or 0,
            latency=latency,
            model=response.model or self.name,
            digest=digest,
            truncated=response.done_reason == "length",
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


def native_options(options: ChatOptions) -> dict[str, Any]:
    """Ollama names max_tokens num_predict; everything else maps one to one."""
    values = options.as_dict()
    values.pop("json_schema", None)  # sent as the request's `format`, not as an option
    if "max_tokens" in values:
        values["num_predict"] = values.pop("max_tokens")
    return values


def ollama_error(spec: str, endpoint: str, exc: BaseException) -> ModelCallError:
    if isinstance(exc, ollama.ResponseError):
        status = exc.status_code
        if status < 0:  # an error reported inside a stream, with no HTTP status
            return ModelCallError(spec, endpoint, _short(exc.error), retryable=False)
        return ModelCallError(spec, endpoint, f"HTTP {status}: {_short(exc.error)}",
                              retryable=retryable_status(status), status=status)
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        return ModelCallError(spec, endpoint, "connection refused (is Ollama running?)", retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return ModelCallError(spec, endpoint, "timed out", retryable=True)
    if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError)):
        return ModelCallError(spec, endpoint, "malformed response (not the JSON Ollama sends)", retryable=True)
    if isinstance(exc, httpx.HTTPError):
        return ModelCallError(spec, endpoint, f"{type(exc).__name__}: {_short(str(exc))}", retryable=True)
    return ModelCallError(spec, endpoint, f"{type(exc).__name__}: {_short(str(exc))}", retryable=False)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."
