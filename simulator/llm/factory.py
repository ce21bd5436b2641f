"""Build the model stack for a spec: provider inside, wrappers around it.

    Metered( Recording( Retrying( Limited( Provider ))))   live or --record
    Metered( Replay )                                      --replay, no server

The limiter sits inside the retry so a backoff pause does not hold a slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from simulator.config import Settings
from simulator.errors import ConfigError
from simulator.llm.limits import LimitedModel, limiter_for
from simulator.llm.replay import CallStore, RecordingModel, ReplayModel
from simulator.llm.retry import RetryingModel, RetryPolicy
from simulator.core.model_spec import ModelSpec, parse_spec
from simulator.llm.types import ChatModel, PullProgress
from simulator.llm.usage import MeteredModel, UsageMeter


class CallMode(str, Enum):
    LIVE = "live"
    RECORD = "record"
    REPLAY = "replay"


@dataclass
class ModelSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4  # calls at once per endpoint
    per_minute: float | None = None
    mode: CallMode = CallMode.RECORD
    meter: UsageMeter = field(default_factory=UsageMeter)
    on_pull: PullProgress | None = None


def make_provider(spec: ModelSpec, settings: Settings, timeout: float | None = None,
                  on_pull: PullProgress | None = None) -> ChatModel:
    # Imported here: the openai package alone adds half a second to every command's start.
    if spec.provider == "ollama":
        from simulator.llm.ollama_provider import OllamaChatModel

        return OllamaChatModel(spec.name, settings.ollama_host, timeout=timeout, on_pull=on_pull)
    if not settings.openai_api_key and not settings.openai_base_url:
        raise ConfigError(f"{spec} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server)",
                          "set it in .env or the environment")
    from simulator.llm.openai_provider import OpenAIChatModel

    return OpenAIChatModel(spec.name, api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                           timeout=timeout)


def build_chat_model(spec_text: str, settings: Settings, options: ModelSettings,
                     calls: CallStore | None = None, scope: str = "") -> ChatModel:
    spec = parse_spec(spec_text)
    if options.mode is CallMode.REPLAY:
        if calls is None:
            raise ConfigError("replay needs the database of recorded calls")
        return MeteredModel(ReplayModel(str(spec), calls, scope), options.meter)
    provider = make_provider(spec, settings, timeout=options.retry.timeout, on_pull=options.on_pull)
    model: ChatModel = LimitedModel(provider, limiter_for(provider.endpoint, options.concurrency, options.per_minute))
    model = RetryingModel(model, options.retry)
    if options.mode is CallMode.RECORD and calls is not None:
        model = RecordingModel(model, calls, scope)
    return MeteredModel(model, options.meter)
