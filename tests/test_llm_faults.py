"""Retries against a misbehaving local HTTP endpoint, for both providers."""

import pytest

from fault_server import FaultServer
from services import free_port
from simulator.llm.anthropic_provider import AnthropicChatModel
from simulator.llm.ollama_provider import OllamaChatModel
from simulator.llm.openai_provider import OpenAIChatModel
from simulator.llm.retry import RetryingModel, RetryPolicy
from simulator.llm.types import ChatOptions, ModelCallError

MESSAGES = [{"role": "user", "content": "hello"}]


class RecordedSleep:
    """Stands in for asyncio.sleep so backoff pauses are checked, not waited for."""

    def __init__(self):
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


def provider(kind: str, url: str, timeout: float = 5.0):
    if kind == "ollama":
        return OllamaChatModel("faulty", url, timeout=timeout)
    if kind == "anthropic":
        return AnthropicChatModel("faulty", api_key="sk-test-key", base_url=url, timeout=timeout)
    return OpenAIChatModel("faulty", api_key="sk-test-key", base_url=f"{url}/v1", timeout=timeout)


@pytest.fixture(params=["ollama", "openai", "anthropic"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def fault_server():
    servers = []

    def make(*args, **kwargs) -> FaultServer:
        servers.append(FaultServer(*args, **kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


async def call(kind, url, policy, sleep=None):
    model = RetryingModel(provider(kind, url, timeout=policy.timeout), policy, sleep=sleep or RecordedSleep())
    return await model.chat(MESSAGES, ChatOptions(temperature=0))


@pytest.mark.parametrize("mode", ["500", "429", "malformed"])
async def test_retryable_failures_are_retried_then_named(kind, mode, fault_server):
    server = fault_server(mode)
    sleep = RecordedSleep()
    with pytest.raises(ModelCallError) as raised:
        await call(kind, server.url, RetryPolicy(attempts=3, timeout=5), sleep)
    assert server.chat_requests == 3
    assert len(sleep.pauses) == 2
    message = raised.value.message
    assert f"{kind}/faulty" in message and f"127.0.0.1:{server.port}" in message
    expected_cause = {"500": "HTTP 500", "429": "HTTP 429", "malformed": "malformed response"}[mode]
    assert expected_cause in message and "gave up after 3 attempts" in message
    assert "sk-test-key" not in message


@pytest.mark.parametrize("mode", ["500", "429", "malformed", "hang"])
async def test_a_passing_fault_is_survived(kind, mode, fault_server):
    server = fault_server(mode, failures=2, hang_seconds=1.5)
    reply = await call(kind, server.url, RetryPolicy(attempts=3, timeout=0.5))
    assert reply.text == "recovered" and reply.prompt_tokens == 3 and reply.completion_tokens == 2
    assert server.chat_requests == 3


async def test_retry_after_is_honoured_for_openai(fault_server):
    server = fault_server("429", retry_after="7")
    sleep = RecordedSleep()
    with pytest.raises(ModelCallError):
        await call("openai", server.url, RetryPolicy(attempts=3, timeout=5, base_delay=0.01), sleep)
    assert sleep.pauses == [7.0, 7.0]


async def test_hanging_server_times_out_each_attempt(kind, fault_server):
    server = fault_server("hang", hang_seconds=2.0)
    with pytest.raises(ModelCallError) as raised:
        await call(kind, server.url, RetryPolicy(attempts=2, timeout=0.3))
    assert server.chat_requests == 2
    assert "faulty" in raised.value.message and str(server.port) in raised.value.message
    assert "gave up after 2 attempts" in raised.value.message


async def test_client_errors_other_than_429_are_not_retried(kind, fault_server):
    server = fault_server("400")
    with pytest.raises(ModelCallError) as raised:
        await call(kind, server.url, RetryPolicy(attempts=4, timeout=5))
    assert server.chat_requests == 1
    assert "HTTP 400" in raised.value.message


async def test_refused_connection_is_retried_then_named(kind):
    port = free_port()  # nothing listens here
    sleep = RecordedSleep()
    with pytest.raises(ModelCallError) as raised:
        await call(kind, f"http://127.0.0.1:{port}", RetryPolicy(attempts=3, timeout=5), sleep)
    assert len(sleep.pauses) == 2
    assert f"127.0.0.1:{port}" in raised.value.message
    assert "connection" in raised.value.message



async def test_an_oversized_answer_is_cut_off_and_named(kind, fault_server):
    from simulator.llm.http import HttpFailure, post_json

    server = fault_server("huge")
    with pytest.raises(HttpFailure, match="an answer larger than 16 MB"):
        await post_json(f"{server.url}/api/chat", {"model": "faulty"}, timeout=10)
    with pytest.raises(ModelCallError, match="malformed"):  # what a run records
        await call(kind, server.url, RetryPolicy(attempts=1, timeout=10))


async def test_anthropic_overloaded_529_honours_retry_after_then_passes(fault_server):
    server = fault_server("529", failures=2, retry_after="3")
    sleep = RecordedSleep()
    reply = await call("anthropic", server.url, RetryPolicy(attempts=3, timeout=5), sleep)
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens, reply.stop_reason) == ("recovered", 3, 2, "end_turn")
    assert server.chat_requests == 3 and sleep.pauses == [3.0, 3.0]
