"""Pure parts of the model layer: specs, option mapping, backoff, limits, cost, folding."""

import asyncio
import random

import pytest

from simulator.errors import ValidationError
from simulator.llm.limits import EndpointLimiter, LimitedModel
from simulator.llm.ollama_provider import native_options
from simulator.llm.openai_provider import fold_system_prompt
from simulator.llm.retry import RetryPolicy
from simulator.core.model_spec import ModelSpec, parse_spec
from simulator.llm.types import ChatOptions, Reply
from simulator.llm.usage import UsageMeter, cost_of


@pytest.mark.parametrize("text, expected", [
    ("ollama/qwen2.5:0.5b", ModelSpec("ollama", "qwen2.5:0.5b")),
    ("openai/gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini")),
    ("openai/meta-llama/Llama-3-8B", ModelSpec("openai", "meta-llama/Llama-3-8B")),
    ("gpt-4o", ModelSpec("openai", "gpt-4o")),
    ("o1-mini", ModelSpec("openai", "o1-mini")),
    ("o3", ModelSpec("openai", "o3")),
    ("o4-mini", ModelSpec("openai", "o4-mini")),
    ("llama3.2:1b", ModelSpec("ollama", "llama3.2:1b")),
    ("orca-mini", ModelSpec("ollama", "orca-mini")),
    ("hf.co/bartowski/model", ModelSpec("ollama", "hf.co/bartowski/model")),
])
def test_spec_parsing(text, expected):
    assert parse_spec(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "ollama/", "gpt 4", "OpenAI/gpt-4o"])
def test_bad_specs_are_refused(text):
    with pytest.raises(ValidationError):
        parse_spec(text)


def test_ollama_option_names():
    options = ChatOptions(temperature=0.2, top_k=40, top_p=0.9, seed=1, max_tokens=64, stop=("###",))
    assert native_options(options) == {"temperature": 0.2, "top_k": 40, "top_p": 0.9, "seed": 1,
                                       "num_predict": 64, "stop": ["###"]}
    assert native_options(ChatOptions()) == {}


def test_system_prompt_folds_into_first_user_message():
    messages = [{"role": "system", "content": "Rules."}, {"role": "assistant", "content": "Hi."},
                {"role": "user", "content": "Go."}]
    assert fold_system_prompt(messages) == [{"role": "assistant", "content": "Hi."},
                                            {"role": "user", "content": "Rules.\n\nGo."}]
    assert fold_system_prompt([{"role": "system", "content": "Only."}]) == [{"role": "user", "content": "Only."}]


def test_backoff_grows_exponentially_within_bounds_and_honours_retry_after():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        samples = [policy.delay(attempt, rng, None) for _ in range(200)]
        assert 0 <= min(samples) and max(samples) <= ceiling
        assert max(samples) > ceiling * 0.8  # jitter spreads over the whole window
    assert policy.delay(0, rng, 5.0) >= 5.0
    assert policy.delay(0, rng, 100.0) == 8.0  # a huge Retry-After is capped


def test_cost_from_price_table():
    assert cost_of("openai/gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert cost_of("ollama/sim-tiny", 10_000, 10_000) == 0.0


def test_meter_totals_per_model():
    meter = UsageMeter()
    meter.add("a", Reply("x", 3, 2, cost=0.5))
    meter.add("a", Reply("y", 1, 1))
    meter.add("b", Reply("z", 10, 0))
    assert (meter.calls, meter.prompt_tokens, meter.completion_tokens, meter.total_tokens) == (3, 14, 3, 17)
    assert meter.by_model["a"] == {"calls": 2, "prompt_tokens": 4, "completion_tokens": 3, "cost": 0.5}


class SlowModel:
    spec, endpoint = "test/slow", "local"

    async def chat(self, messages, options):
        await asyncio.sleep(0.02)
        return Reply("ok")


async def test_limit_is_shared_by_every_model_of_an_endpoint():
    limiter = EndpointLimiter(concurrency=2)
    agents = [LimitedModel(SlowModel(), limiter) for _ in range(6)]
    await asyncio.gather(*(a.chat([], ChatOptions()) for a in agents for _ in range(3)))
    assert limiter.peak == 2 and limiter.active == 0


async def test_rate_limit_spaces_call_starts():
    limiter = EndpointLimiter(concurrency=10, per_minute=600)  # one start every 0.1 s
    model = LimitedModel(SlowModel(), limiter)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(model.chat([], ChatOptions()) for _ in range(4)))
    assert loop.time() - started >= 0.3
