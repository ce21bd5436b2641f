"""The second local server, llama.cpp's llama-server, for real: the OpenAI API with log-probabilities,
Anthropic's Messages API, the backrooms study's aliases against it, and one line for each bad endpoint."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pymongo import MongoClient

from simulator.llm.factory import CallMode, ModelSettings, build_chat_model
from simulator.llm.types import ChatOptions

pytestmark = pytest.mark.services


def simulator(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def env(cli_env, llamacpp_url) -> dict[str, str]:
    return {**cli_env, "SIM_LLAMACPP_URL": llamacpp_url, "ANTHROPIC_BASE_URL": llamacpp_url.removesuffix("/v1")}


def stored_conversations(settings) -> int:
    with MongoClient(settings.mongodb_uri) as client:
        return client[settings.db_name].conversations.count_documents({})


def test_models_chat_on_llamacpp_and_through_the_messages_api(env):
    for spec in ("llamacpp/smollm2:135m", "anthropic/claude-3-opus-20240229"):
        result = simulator("models", "chat", spec, "Name one colour.", "--max-tokens", "12", "--seed", "1", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() and "completion tokens" in result.stderr


async def test_log_probabilities_are_real_and_consistent(llamacpp_settings):
    model = build_chat_model("llamacpp/smollm2:135m", llamacpp_settings, ModelSettings(mode=CallMode.LIVE))
    reply = await model.chat([{"role": "user", "content": "Is the sky blue? Answer yes or no."}],
                             ChatOptions(temperature=0, max_tokens=5, logprobs=5, seed=3))
    assert reply.logprobs and len(reply.logprobs) == reply.completion_tokens
    assert "".join(t.token for t in reply.logprobs) == reply.text
    for token in reply.logprobs:
        assert token.logprob <= 0 and len(token.top) == 5
        # temperature 0: the chosen token is the most likely one
        assert token.logprob == pytest.approx(max(lp for _, lp in token.top), abs=1e-4)


def test_logprobs_from_ollama_are_refused_in_one_line(env):
    result = simulator("models", "chat", "ollama/sim-tiny", "hi", "--logprobs", "3", env=env)
    assert result.returncode != 0 and "no log-probabilities" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_backrooms_with_the_study_aliases_on_the_messages_api(env, settings):
    result = simulator("backrooms", "--lm", "opus", "sonnet", "--template", "cli", "--max-turns", "1",
                       "--seed", "2", env=env)
    assert result.returncode == 0, result.stderr
    with MongoClient(settings.mongodb_uri) as client:
        (conversation,) = client[settings.db_name].conversations.find({})
        messages = list(client[settings.db_name].messages.find({}).sort("index", 1))
    assert [l["model"] for l in conversation["llms"]] == ["anthropic/claude-3-opus-20240229",
                                                          "anthropic/claude-3-5-sonnet-20240620"]
    assert [(l["temperature"], l["max_tokens"]) for l in conversation["llms"]] == [(1.0, 1024), (1.0, 1024)]
    assert [a["name"] for a in conversation["agents"]] == ["Claude 1", "Claude 2"]
    assert len(messages) == 2 and all(m["content"].strip() for m in messages)


@pytest.mark.parametrize("args, extra_env, words", [
    (("telephone", "--llm", "nowhere/model", "--generations", "1"), {}, "no endpoint named 'nowhere'"),
    (("backrooms", "--lm", "opus", "sonnet", "--template", "cli", "--max-turns", "1"),
     {"ANTHROPIC_BASE_URL": ""}, "needs ANTHROPIC_API_KEY"),
    (("backrooms", "--lm", "opus", "sonnet", "--template", "cli", "--max-turns", "1"),
     {"ANTHROPIC_BASE_URL": "OLLAMA"}, "does not answer Anthropic's Messages API"),
    (("telephone", "--llm", "ollama/../../api/delete", "--generations", "1"), {}, "'..' path segment"),
])
def test_a_bad_endpoint_is_one_line_and_nothing_is_stored(env, settings, args, extra_env, words):
    extra = {k: env["OLLAMA_HOST"] if v == "OLLAMA" else v for k, v in extra_env.items()}
    result = simulator(*args, env={**env, **extra})
    assert result.returncode != 0
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert stored_conversations(settings) == 0
