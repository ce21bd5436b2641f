"""Both providers against the real local Ollama serving sim-tiny."""

import pytest

from simulator.llm.factory import CallMode, ModelSettings, build_chat_model
from simulator.llm.ollama_provider import OllamaChatModel
from simulator.llm.openai_provider import OpenAIChatModel
from simulator.llm.retry import RetryPolicy
from simulator.llm.types import ChatOptions, ModelCallError

MESSAGES = [{"role": "system", "content": "You are Guard_117, a guard in a prison yard."},
            {"role": "user", "content": "Prisoner_204: Is it yard time yet?"}]


def native(ollama_host):
    return OllamaChatModel("sim-tiny", ollama_host)


def compatible(ollama_host):
    return OpenAIChatModel("sim-tiny", api_key=None, base_url=f"{ollama_host}/v1")


@pytest.fixture(params=[native, compatible], ids=["ollama-native", "openai-v1"])
def model(request, ollama_host):
    return request.param(ollama_host)


async def test_provider_answers_with_usage(model):
    reply = await model.chat(MESSAGES, ChatOptions(temperature=0.8, seed=3, max_tokens=30))
    assert reply.text.strip()
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert 0 < reply.latency < 30
    assert "sim-tiny" in reply.model


async def test_same_seed_at_temperature_zero_gives_the_same_text(model):
    options = ChatOptions(temperature=0, seed=11, max_tokens=30)
    first = await model.chat(MESSAGES, options)
    second = await model.chat(MESSAGES, options)
    assert first.text == second.text and first.text.strip()


async def test_seed_changes_the_sample_at_high_temperature(ollama_host):
    model = native(ollama_host)
    texts = {(await model.chat(MESSAGES, ChatOptions(temperature=1.5, seed=s, max_tokens=20))).text
             for s in range(4)}
    assert len(texts) > 1


async def test_native_provider_reports_the_digest(ollama_host):
    reply = await native(ollama_host).chat(MESSAGES, ChatOptions(temperature=0))
    assert reply.digest and len(reply.digest) >= 12


async def test_max_tokens_caps_the_reply(model):
    reply = await model.chat(MESSAGES, ChatOptions(temperature=0.8, seed=5, max_tokens=3))
    assert 0 < reply.completion_tokens <= 3


async def test_top_k_is_ignored_by_openai_and_logged_once(ollama_host, caplog):
    model = OpenAIChatModel("sim-tiny-topk", api_key=None, base_url=f"{ollama_host}/v1")
    assert "top_k" not in model.request_options(ChatOptions(top_k=5, temperature=0.1))
    model.request_options(ChatOptions(top_k=5))
    warnings = [r for r in caplog.records if "top_k" in r.getMessage()]
    assert len(warnings) == 1 and "openai/sim-tiny-topk" in warnings[0].getMessage()


async def test_missing_model_without_network_fails_clearly(ollama_host):
    model = OllamaChatModel("no-such-model", ollama_host)
    with pytest.raises(ModelCallError) as raised:
        await model.chat(MESSAGES, ChatOptions())
    message = raised.value.message
    assert "ollama/no-such-model" in message and ollama_host in message and "pulling it failed" in message


async def test_factory_stack_meters_usage(settings):
    options = ModelSettings(retry=RetryPolicy(attempts=2, timeout=30), mode=CallMode.LIVE)
    model = build_chat_model("ollama/sim-tiny", settings, options)
    reply = await model.chat(MESSAGES, ChatOptions(temperature=0, seed=1))
    assert options.meter.calls == 1
    assert options.meter.prompt_tokens == reply.prompt_tokens > 0
    assert options.meter.by_model["ollama/sim-tiny"]["completion_tokens"] == reply.completion_tokens
