"""The one protocol the engine talks to, and the values that cross it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from simulator.errors import ModelError

if TYPE_CHECKING:
    from simulator.core.experiment import LLMSetting

ChatMessage = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}
PullProgress = Callable[[str, int | None, int | None], None]  # status, completed, total of a model download


@dataclass(frozen=True)
class ChatOptions:
    """Sampling options; each provider maps what it supports and logs what it ignores."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] | None = None  # structured output: the reply must be JSON of this shape
    logprobs: int | None = None  # ask for the log-probability of each generated token and its N best alternatives

    def as_dict(self) -> dict[str, Any]:
        """Only the options that were set, in a stable shape (for hashing and storage)."""
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}  # not asdict: no deep copy per call
        values = {k: v for k, v in values.items() if v is not None and v != ()}
        if "stop" in values:
            values["stop"] = list(values["stop"])
        if "json_schema" in values:
            values["json_schema"] = dict(values["json_schema"])
        return values


def chat_options(llm: "LLMSetting") -> ChatOptions:
    """The sampling options of an experiment's LLM setting."""
    return ChatOptions(temperature=llm.temperature, top_k=llm.top_k, top_p=llm.top_p, max_tokens=llm.max_tokens)


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the `top` alternatives the server gave at its position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()

    def to_document(self) -> dict[str, Any]:
        return {"token": self.token, "logprob": self.logprob,
                "top": [{"token": t, "logprob": lp} for t, lp in self.top]}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "TokenLogprob":
        return cls(str(doc["token"]), float(doc["logprob"]),
                   tuple((str(t["token"]), float(t["logprob"])) for t in doc.get("top") or ()))


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0  # seconds, as measured around the call
    model: str = ""  # the model's own name as the server reports it
    digest: str | None = None  # the exact weights, where the server tells
    cost: float = 0.0
    replayed: bool = False
    truncated: bool = False  # stopped by the token limit, perhaps mid-sentence
    stop_reason: str | None = None  # the server's own word for why it stopped ("stop", "length", "end_turn")
    logprobs: tuple[TokenLogprob, ...] | None = None  # when asked for and the server gives them; None otherwise
    raw_usage: Mapping[str, Any] | None = None  # the server's own token counts, when they were not sane ones
    cut_from: int | None = None  # the reply's length in characters before the maximum reply size cut it

    def usage(self) -> dict[str, Any]:
        """What a stored message records of the call: the counts, and what bounds changed (simulator/llm/bounds.py)."""
        usage = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "cost": self.cost}
        if self.raw_usage is not None:
            usage["raw_usage"] = dict(self.raw_usage)
        if self.cut_from is not None:
            usage["cut_from"] = self.cut_from
        return usage

    def to_document(self) -> dict[str, Any]:
        """The stored shape (recorded calls): log-probabilities as documents, since FerretDB refuses an array
        directly inside an array."""
        doc = {name: getattr(self, name) for name in self.__dataclass_fields__}
        doc["logprobs"] = None if self.logprobs is None else [t.to_document() for t in self.logprobs]
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> "Reply":
        values = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        if values.get("logprobs") is not None:
            values["logprobs"] = tuple(TokenLogprob.from_document(t) for t in values["logprobs"])
        return cls(**values)


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers a list of chat messages: a provider or a wrapper around one."""

    spec: str  # "ollama/sim-tiny", "openai/gpt-4o-mini"
    endpoint: str  # where calls go; wrappers share limits per endpoint

    async def chat(self, messages: Sequence[ChatMessage], options: ChatOptions) -> Reply: ...


class ModelCallError(ModelError):
    """A call failed. `retryable` says whether another attempt may succeed; `gave_up`, that every
    attempt failed in a way another might not have (the server is down or failing, not the request)."""

    def __init__(self, spec: str, endpoint: str, cause: str, *, retryable: bool,
                 retry_after: float | None = None, status: int | None = None, gave_up: bool = False):
        super().__init__(f"{spec} at {endpoint}: {cause}")
        self.spec, self.endpoint, self.cause = spec, endpoint, cause
        self.retryable, self.retry_after, self.status = retryable, retry_after, status
        self.gave_up = gave_up

    @property
    def server_down(self) -> bool:
        return self.retryable or self.gave_up


def retryable_status(status: int) -> bool:
    """429 and 5xx may pass; any other 4xx will fail the same way again."""
    return status == 429 or status >= 500
