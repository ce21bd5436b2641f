"""The provider registry, and where a model spec's calls go.

A model spec is `ENDPOINT/MODEL` (`openai/gpt-4o`, `llamacpp/smollm2:135m`,
`vllm-gpu/meta-llama/Llama-3.1-8B-Instruct`: only the first `/` splits). The endpoint is one of
the predeclared ones (each provider's, named after it, and `llamacpp`, the project's local
llama.cpp server) or one a researcher declared in SIM_ENDPOINTS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from simulator.core.model_spec import ModelSpec
from simulator.errors import ConfigError
from simulator.llm.provider import Endpoint, Provider

if TYPE_CHECKING:
    from simulator.config import Settings

# One line per provider: its API name and the module that holds its PROVIDER.
REGISTRY = {
    "ollama": "simulator.llm.ollama_provider",
    "openai": "simulator.llm.openai_provider",
    "anthropic": "simulator.llm.anthropic_provider",
}

# The project's own llama.cpp server (scripts/services.py starts it), an OpenAI-compatible endpoint.
LLAMACPP = "llamacpp"
LLAMACPP_PORT = 8088


def get(api: str) -> Provider:
    if api not in REGISTRY:
        raise ConfigError(f"unknown API {api!r}: known are {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[api]).PROVIDER


def all_providers() -> list[Provider]:
    return [get(api) for api in REGISTRY]


def settings_names() -> list[str]:
    """Every environment variable a provider reads (URLs and keys), for load_settings."""
    names = []
    for provider in all_providers():
        names += [provider.url_setting] + ([provider.key_setting] if provider.key_setting else [])
    return names


def endpoints(settings: "Settings") -> dict[str, Endpoint]:
    """Every endpoint by name: each provider's own, llamacpp, then those the researcher declared."""
    found = {p.api: p.default_endpoint(settings) for p in all_providers()}
    found[LLAMACPP] = Endpoint(LLAMACPP, "openai", settings.llamacpp_url)
    for endpoint in settings.extra_endpoints:
        found[endpoint.name] = endpoint
    return found


def resolve(spec: ModelSpec, settings: "Settings") -> tuple[Provider, Endpoint]:
    """The provider and endpoint a spec's calls go to; one line when the endpoint is unknown or unusable."""
    known = endpoints(settings)
    endpoint = known.get(spec.provider)
    if endpoint is None:
        raise ConfigError(f"model spec {spec}: no endpoint named {spec.provider!r} (known: {', '.join(known)})",
                          "declare it in SIM_ENDPOINTS, e.g. SIM_ENDPOINTS='vllm-gpu=openai http://HOST:8000/v1 "
                          "VLLM_API_KEY'")
    provider = get(endpoint.api)
    provider.check(endpoint, str(spec))
    return provider, endpoint


def cost_of(spec: str, prompt_tokens: int, completion_tokens: int) -> float:
    """US dollars for a call, where the provider's price table knows the model at its own endpoint
    (a compatible server elsewhere, or a model it does not list, costs 0)."""
    endpoint, _, name = spec.partition("/")
    if endpoint not in REGISTRY:
        return 0.0
    price = get(endpoint).prices.get(name)
    if price is None:
        return 0.0
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
