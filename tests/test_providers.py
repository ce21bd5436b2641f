"""The provider registry, named endpoints, aliases and each provider's request shape (no server)."""

from __future__ import annotations

import pytest

from simulator.config import load_settings
from simulator.core.model_aliases import find_alias
from simulator.core.model_spec import parse_spec
from simulator.errors import ConfigError, ValidationError
from simulator.llm import providers
from simulator.llm.anthropic_provider import OPENING, AnthropicChatModel, request_body
from simulator.llm.factory import make_provider
from simulator.llm.openai_provider import OpenAIChatModel, read_logprobs
from simulator.llm.types import ChatOptions
from simulator.llm.usage import cost_of

ENV = {"SIM_ENDPOINTS": "vllm-gpu=openai http://10.0.0.5:8000/v1 VLLM_KEY; lab=ollama http://lab:11434",
       "VLLM_KEY": "vllm-secret-1", "ANTHROPIC_API_KEY": "anthropic-secret-2"}


def test_every_provider_in_the_registry_declares_itself():
    for api, provider in zip(providers.REGISTRY, providers.all_providers()):
        assert provider.api == api and provider.title and provider.url_setting and provider.default_url


def test_named_endpoints_side_by_side():
    settings = load_settings(ENV)
    built = {text: make_provider(parse_spec(text), settings) for text in (
        "vllm-gpu/meta-llama/Llama-3.1-8B-Instruct", "llamacpp/smollm2:135m", "lab/qwen2.5:0.5b",
        "anthropic/claude-3-opus-20240229")}
    assert [(m.spec, m.endpoint, type(m).__name__) for m in built.values()] == [
        ("vllm-gpu/meta-llama/Llama-3.1-8B-Instruct", "http://10.0.0.5:8000/v1", "OpenAIChatModel"),
        ("llamacpp/smollm2:135m", "http://127.0.0.1:8088/v1", "OpenAIChatModel"),
        ("lab/qwen2.5:0.5b", "http://lab:11434", "OllamaChatModel"),
        ("anthropic/claude-3-opus-20240229", "https://api.anthropic.com", "AnthropicChatModel")]
    assert built["vllm-gpu/meta-llama/Llama-3.1-8B-Instruct"]._api_key == "vllm-secret-1"


def test_every_key_is_a_secret_and_none_is_in_the_settings_repr():
    settings = load_settings({**ENV, "OPENAI_API_KEY": "openai-secret-3"})
    assert {"vllm-secret-1", "anthropic-secret-2", "openai-secret-3"} <= set(settings.secrets())
    assert not any(s in repr(settings) for s in ("vllm-secret-1", "anthropic-secret-2", "openai-secret-3"))


def test_unknown_endpoint_and_missing_key_are_one_line_each():
    settings = load_settings({})
    with pytest.raises(ConfigError, match="no endpoint named 'nowhere'.*known: ollama, openai, anthropic, llamacpp"):
        make_provider(parse_spec("nowhere/model"), settings)
    with pytest.raises(ConfigError, match="anthropic/claude-3-opus-20240229 needs ANTHROPIC_API_KEY"):
        make_provider(parse_spec("anthropic/claude-3-opus-20240229"), settings)
    # a compatible server elsewhere needs no key
    local = load_settings({"ANTHROPIC_BASE_URL": "http://127.0.0.1:8088"})
    assert make_provider(parse_spec("anthropic/claude-3-opus-20240229"), local).endpoint == "http://127.0.0.1:8088"


@pytest.mark.parametrize("text, problem", [
    ("x", "expected NAME=API URL"), ("Big=openai http://h/v1", "expected NAME=API URL"),
    ("a=grpc http://h", "unknown API 'grpc'"), ("a=openai javascript:alert(1)", "not a usable server URL"),
    ("a=openai http://h key", "not an environment variable name"), ("openai=openai http://h", "already taken"),
    ("a=openai http://h; a=ollama http://g", "already taken")])
def test_bad_endpoint_declarations_are_refused(text, problem):
    with pytest.raises(ConfigError, match=problem):
        load_settings({"SIM_ENDPOINTS": text})


@pytest.mark.parametrize("text", ["ollama/file:///etc/passwd", "ollama/../../../api/delete", "openai/a//b",
                                  "ollama/x?y", "ollama/a\\b", "openai/./x"])
def test_model_names_that_are_not_names_are_refused(text):
    with pytest.raises(ValidationError):
        parse_spec(text)


@pytest.mark.parametrize("text, endpoint, name", [
    ("ollama/qwen2.5:0.5b", "ollama", "qwen2.5:0.5b"), ("openai/gpt-3.5-turbo-0125", "openai", "gpt-3.5-turbo-0125"),
    ("vllm-gpu/meta-llama/Llama-3.1-8B", "vllm-gpu", "meta-llama/Llama-3.1-8B"), ("claude-3-5-sonnet-20240620",
     "anthropic", "claude-3-5-sonnet-20240620"), ("ollama/$weird", "ollama", "$weird"),
    ("ollama/modèle:ünïcode", "ollama", "modèle:ünïcode")])
def test_model_names_of_any_shape_parse(text, endpoint, name):
    assert (parse_spec(text).endpoint, parse_spec(text).name) == (endpoint, name)


def test_study_aliases_and_their_override_in_the_settings():
    opus = find_alias("opus")
    assert (opus.spec, opus.display, opus.company, opus.max_tokens, opus.temperature) == (
        "anthropic/claude-3-opus-20240229", "Claude", "anthropic", 1024, 1.0)
    assert find_alias("o1-preview").max_tokens == 8192
    settings = load_settings({"SIM_MODEL_ALIASES": "opus=llamacpp/smollm2:135m; tiny=ollama/sim-tiny"})
    moved = find_alias("opus", settings.model_aliases)
    assert (moved.spec, moved.display) == ("llamacpp/smollm2:135m", "Claude")
    assert find_alias("tiny", settings.model_aliases).spec == "ollama/sim-tiny"
    assert find_alias("ollama/sim-tiny") is None
    with pytest.raises(ConfigError, match="SIM_MODEL_ALIASES"):
        load_settings({"SIM_MODEL_ALIASES": "opus"})


def test_anthropic_turns_alternate_and_open_with_the_user():
    body = request_body([{"role": "system", "content": "Be a terminal."}, {"role": "assistant", "content": "ls"},
                         {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                         {"role": "assistant", "content": "c"}])
    assert body == {"system": "Be a terminal.", "messages": [
        {"role": "user", "content": OPENING}, {"role": "assistant", "content": "ls"},
        {"role": "user", "content": "a\n\nb"}, {"role": "assistant", "content": "c"}]}
    assert request_body([{"role": "system", "content": "Only."}]) == {
        "system": "Only.", "messages": [{"role": "user", "content": OPENING}]}


def test_anthropic_options_max_tokens_required_stops_and_ignored_seed():
    model = AnthropicChatModel("claude-3-opus-20240229", api_key="k", base_url="http://h")
    assert model.request_options(ChatOptions(temperature=1.0, top_k=5, seed=3, stop=("^C^C",), logprobs=5)) == {
        "max_tokens": 1024, "temperature": 1.0, "top_k": 5, "stop_sequences": ["^C^C"]}
    assert model.request_options(ChatOptions(max_tokens=50))["max_tokens"] == 50


def test_openai_logprobs_and_reasoning_models():
    plain = OpenAIChatModel("gpt-4o", api_key="k")
    assert plain.request_options(ChatOptions(temperature=0.5, top_k=3, logprobs=30)) == {
        "temperature": 0.5, "logprobs": True, "top_logprobs": 20}
    o1 = OpenAIChatModel("o1-preview", api_key="k")
    assert o1.request_options(ChatOptions(temperature=1.0, max_tokens=8192)) == {"max_completion_tokens": 8192}
    block = {"content": [{"token": " on", "logprob": -0.1, "bytes": [1],
                          "top_logprobs": [{"token": " on", "logprob": -0.1}, {"token": " off", "logprob": -2.4}]}]}
    (token,) = read_logprobs(block)
    assert (token.token, token.logprob, token.top) == (" on", -0.1, ((" on", -0.1), (" off", -2.4)))
    assert read_logprobs(None) is None and read_logprobs({"content": None}) is None


def test_prices_come_from_each_provider_and_other_endpoints_cost_nothing():
    assert cost_of("openai/gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert cost_of("anthropic/claude-3-opus-20240229", 1_000_000, 0) == pytest.approx(15.0)
    assert cost_of("vllm-gpu/gpt-4o-mini", 1_000_000, 1_000_000) == 0.0
    assert cost_of("llamacpp/smollm2:135m", 10_000, 10_000) == 0.0


def test_settings_with_endpoints_and_aliases_cross_to_worker_processes():
    import pickle

    settings = load_settings({**ENV, "SIM_MODEL_ALIASES": "opus=llamacpp/smollm2:135m"})
    assert pickle.loads(pickle.dumps(settings)) == settings
