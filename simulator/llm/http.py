"""JSON over HTTP for model calls, on one aiohttp session per event loop.

Why not the SDKs' own clients for the call itself: at 64 concurrent calls to a local server,
the OpenAI SDK's raw post cost 1.3-2.3 ms of CPU per call and httpx 1.9 ms, aiohttp 0.1-0.2 ms
(profiled); at that rate the client, not the model server, bounded a batch's event loop. The
SDKs stay for what runs once per model (listing, pulling). Failures come back as HttpFailure,
which each provider words as the SDK's errors were, so retries see the same kinds of error.
Proxies are honoured from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) as the SDKs did,
and HTTPS trusts certifi's roots, as they do.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Mapping

import aiohttp

from simulator.llm.clients import shared_client


class HttpFailure(Exception):
    """A call that did not return a JSON object: `kind` is timeout, connection, status or malformed."""

    def __init__(self, kind: str, detail: str = "", *, status: int | None = None, retry_after: float | None = None):
        super().__init__(detail or kind)
        self.kind, self.detail, self.status, self.retry_after = kind, detail, status, retry_after


def _session() -> aiohttp.ClientSession:
    def make() -> aiohttp.ClientSession:
        import ssl

        import certifi

        connector = aiohttp.TCPConnector(limit=0, ssl=ssl.create_default_context(cafile=certifi.where()))
        return aiohttp.ClientSession(connector=connector, trust_env=True, json_serialize=json.dumps)
    return shared_client("http", "", None, None, make)


async def post_json(url: str, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None,
                    timeout: float | None = None) -> dict[str, Any]:
    """POST `body` as JSON and return the JSON object answered; HttpFailure otherwise."""
    try:
        async with _session().post(url, data=json.dumps(body).encode(),
                                   headers={"Content-Type": "application/json", **(headers or {})},
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            payload = await _read_limited(response)
            if response.status >= 400:
                raise HttpFailure("status", error_message(payload), status=response.status,
                                  retry_after=_seconds(response.headers.get("retry-after")))
    except asyncio.TimeoutError as exc:
        raise HttpFailure("timeout") from exc
    except aiohttp.ClientConnectionError as exc:  # refused, reset, closed mid-answer
        raise HttpFailure("connection", type(exc).__name__) from exc
    except aiohttp.ClientError as exc:
        raise HttpFailure("malformed", f"{type(exc).__name__}: {exc}") from exc
    try:
        answer = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpFailure("malformed", "not JSON") from exc
    if not isinstance(answer, dict):
        raise HttpFailure("malformed", "not a JSON object")
    return answer


# A chat answer is kilobytes; a server that sends more is broken or hostile, not a model.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise HttpFailure("malformed", f"an answer larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def error_message(payload: bytes) -> str:
    """The server's own words: {"error": {"message": ...}} (OpenAI), {"error": "..."} (Ollama), or the text."""
    text = payload.decode("utf-8", "replace")
    try:
        error = json.loads(text).get("error")
    except (json.JSONDecodeError, AttributeError):
        return text
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error) if error else text


def short(text: str, limit: int = 300) -> str:
    """A server's words on one line, cut to a length a person reads."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
