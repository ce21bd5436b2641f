"""What a provider declares: one kind of model API (Ollama's, OpenAI's, Anthropic's), its settings,
what its calls support, its prices, and how to build a chat model for one of its endpoints.

A provider is one module with a `PROVIDER` object and one line in simulator/llm/providers.py;
the factory, preflight, `models list`, the menus' settings and the usage accounting read the
registry, so nothing else names a provider. An endpoint is a place that speaks a provider's API:
each provider has a predeclared one named after it (`openai` at OPENAI_BASE_URL), and a
researcher declares more (a vLLM box, a second Ollama) in SIM_ENDPOINTS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from simulator.errors import ConfigError

if TYPE_CHECKING:
    from simulator.config import Settings
    from simulator.llm.types import ChatModel, PullProgress

Prices = Mapping[str, tuple[float, float]]  # model name -> US dollars per million tokens (input, output)


@dataclass(frozen=True)
class Capabilities:
    """What a provider's calls can do; an option it lacks is ignored with one warning per model, never an error."""

    seed: bool = False
    top_k: bool = False
    structured_output: bool = False
    logprobs: bool = False
    system_role: bool = True

    def unsupported(self, options: Mapping[str, Any]) -> list[str]:
        """The option names set in `options` (ChatOptions.as_dict) that these calls cannot honour."""
        wanted = {"seed": self.seed, "top_k": self.top_k, "json_schema": self.structured_output,
                  "logprobs": self.logprobs}
        return [name for name, supported in wanted.items() if name in options and not supported]


@dataclass(frozen=True)
class Endpoint:
    """A named place that speaks one provider's API; `key` is the secret itself and never shown."""

    name: str
    api: str  # the provider whose API it speaks
    url: str
    key_env: str | None = None  # the environment variable that holds its key
    key: str | None = field(default=None, repr=False)


class Provider:
    """One API. Subclasses set the declarations and implement `chat_model` (and `list_models`)."""

    api: str = ""
    title: str = ""
    url_setting: str = ""  # the environment variable with the predeclared endpoint's URL
    default_url: str = ""
    key_setting: str | None = None  # the environment variable with its key
    needs_key: bool = False  # at its default URL (a compatible server elsewhere may take none)
    capabilities: Capabilities = Capabilities()
    prices: Prices = {}

    def default_endpoint(self, settings: "Settings") -> Endpoint:
        values = settings.provider_values
        url = values.get(self.url_setting) or self.default_url
        return Endpoint(self.api, self.api, url, self.key_setting,
                        values.get(self.key_setting) if self.key_setting else None)

    def check(self, endpoint: Endpoint, spec: str) -> None:
        """Refuse, before any call, an endpoint this provider cannot use (a key it needs and lacks)."""
        if self.needs_key and not endpoint.key and endpoint.url.rstrip("/") == self.default_url.rstrip("/"):
            raise ConfigError(f"{spec} needs {endpoint.key_env} (or {self.url_setting} for a compatible server)",
                              "set it in .env or the environment")

    def chat_model(self, endpoint: Endpoint, name: str, *, timeout: float | None = None,
                   on_pull: "PullProgress | None" = None) -> "ChatModel":
        raise NotImplementedError

    async def list_models(self, endpoint: Endpoint) -> list[str]:
        """The model names the endpoint serves (a provider that cannot list answers [])."""
        return []

    async def preflight(self, model: "ChatModel") -> None:
        """Before a run stores anything: the model is usable here (pulled, the server speaks this API)."""

    def model_supports_system_role(self, name: str) -> bool:
        return self.capabilities.system_role


class IgnoredOptions:
    """Warn once per model and option that a provider ignores, instead of failing the call."""

    def __init__(self, logger: logging.Logger, capabilities: Capabilities):
        self.log, self.capabilities, self._warned = logger, capabilities, set()

    def drop(self, spec: str, values: dict[str, Any]) -> dict[str, Any]:
        for name in self.capabilities.unsupported(values):
            values.pop(name, None)
            if (spec, name) not in self._warned:
                self._warned.add((spec, name))
                self.log.warning("%s: this API has no %s; it is ignored for this model%s", spec, name,
                                 " (its log-probabilities are recorded as unavailable)" if name == "logprobs" else "")
        return values
