"""OpenAI's moderation endpoint as a scorer: every category's score, per message.

It is only used when chosen and configured (OPENAI_API_KEY, or OPENAI_BASE_URL for a
compatible server); nothing else in the analysis touches the network. All categories the
endpoint returns are stored (harassment, harassment/threatening, hate, violence, ...);
tables and figures show harassment and violence unless asked for others, as the study did.

The endpoint is wrapped as a ChatModel whose messages are the texts to classify and whose
reply is the JSON of their category scores. That is an adapter, and it buys the rules every
chat call follows without a second copy of them: the same retry wrapper (connection errors,
timeouts, 429 with Retry-After and 5xx, with backoff and jitter), the same per-endpoint
limits, and record and replay, so moderation scores can be re-derived with no network.
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from simulator.analysis.scorers import DEFAULT_MODERATION_MODEL
from simulator.analysis.scorers.base import Scored, checked_scores
from simulator.config import DEFAULT_OPENAI_BASE_URL, Settings
from simulator.errors import ConfigError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.limits import LimitedModel, limiter_for
from simulator.llm.http import HttpFailure, post_json
from simulator.llm.openai_provider import MALFORMED, http_error
from simulator.llm.replay import CallStore, RecordingModel, ReplayModel
from simulator.llm.retry import RetryingModel
from simulator.llm.types import ChatMessage, ChatModel, ChatOptions, ModelCallError, Reply



class ModerationEndpoint:
    """POST /moderations for the texts in `messages`; the reply text is a JSON list of category scores."""

    def __init__(self, model: str, *, api_key: str | None, base_url: str | None, timeout: float | None):
        self.model = model
        self.spec = f"openai-moderation/{model}"
        self.endpoint = (base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        self._api_key = api_key or "not-needed"
        self._timeout = timeout

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply:
        body = {"model": self.model, "input": [m["content"] for m in messages]}
        started = time.perf_counter()
        try:
            answer = await post_json(f"{self.endpoint}/moderations", body, timeout=self._timeout,
                                     headers={"Authorization": f"Bearer {self._api_key}"})
            scores = [result["category_scores"] for result in answer["results"]]
        except HttpFailure as exc:  # worded as every OpenAI chat call's failures
            raise http_error(self.spec, self.endpoint, exc) from exc
        except (KeyError, TypeError) as exc:
            raise ModelCallError(self.spec, self.endpoint, MALFORMED, retryable=True) from exc
        if len(scores) != len(messages):
            raise ModelCallError(self.spec, self.endpoint, f"{len(scores)} results for {len(messages)} texts",
                                 retryable=True)
        return Reply(text=json.dumps(scores), latency=time.perf_counter() - started, model=self.model)


def moderation_model(settings: Settings, model_settings: ModelSettings, calls: CallStore | None,
                     model: str = DEFAULT_MODERATION_MODEL, scope: str = "moderation") -> ChatModel:
    """The endpoint inside the usual wrappers: Recording(Retrying(Limited(endpoint))), or Replay."""
    spec = f"openai-moderation/{model}"
    if model_settings.mode is CallMode.REPLAY:
        if calls is None:
            raise ConfigError("replay needs the database of recorded calls")
        return ReplayModel(spec, calls, scope)
    if not settings.openai_api_key and not settings.openai_base_url:
        raise ConfigError("the moderation scorer needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)",
                          "set it in .env or the environment, or use the offline classifier")
    endpoint = ModerationEndpoint(model, api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                                  timeout=model_settings.retry.timeout)
    stack: ChatModel = LimitedModel(endpoint, limiter_for(endpoint.endpoint, model_settings.concurrency,
                                                          model_settings.per_minute))
    stack = RetryingModel(stack, model_settings.retry)
    if model_settings.mode is CallMode.RECORD and calls is not None:
        stack = RecordingModel(stack, calls, scope)
    return stack


class ModerationScorer:
    name = "moderation"
    batch_size = 32  # texts per request

    def __init__(self, model: ChatModel):
        self.model = model

    async def score(self, texts: Sequence[str]) -> list[Scored]:
        reply = await self.model.chat([{"role": "user", "content": text} for text in texts], ChatOptions())
        results: list[Any] = json.loads(reply.text)
        return [checked_scores(categories) if isinstance(categories, dict)
                else Scored(error="the endpoint returned no category scores") for categories in results]
