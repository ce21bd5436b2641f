"""Build the model stack for a spec: provider inside, wrappers around it.

    Metered( Recording( Retrying( Limited( Bounded( Provider )))))   live or --record
    Metered( Replay )                                                --replay, no server

The limiter sits inside the retry so a backoff pause does not hold a slot; every reply is bounded
(simulator/llm/bounds.py) before anything else sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from simulator.config import Settings
from simulator.errors import ConfigError
from simulator.llm import providers
from simulator.llm.bounds import BoundedModel
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
    """The provider's chat model for a spec, at the endpoint the spec names."""
    provider, endpoint = providers.resolve(spec, settings)
    return provider.chat_model(endpoint, spec.name, timeout=timeout, on_pull=on_pull)


def build_chat_model(spec_text: str, settings: Settings, options: ModelSettings,
                     calls: CallStore | None = None, scope: str = "") -> ChatModel:
    spec = parse_spec(settings.model_aliases.get(spec_text, spec_text))
    if options.mode is CallMode.REPLAY:
        if calls is None:
            raise ConfigError("replay needs the database of recorded calls")
        return MeteredModel(ReplayModel(str(spec), calls, scope), options.meter)
    provider = make_provider(spec, settings, timeout=options.retry.timeout, on_pull=options.on_pull)
    model: ChatModel = LimitedModel(BoundedModel(provider, settings.max_reply_chars),
                                    limiter_for(provider.endpoint, options.concurrency, options.per_minute))
    model = RetryingModel(model, options.retry)
    if options.mode is CallMode.RECORD and calls is not None:
        model = RecordingModel(model, calls, scope)
    return MeteredModel(model, options.meter)
