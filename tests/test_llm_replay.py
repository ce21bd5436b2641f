"""Record calls against a real Ollama, stop it, and replay the same calls from MongoDB."""

import pytest
import services

from simulator.config import Settings
from simulator.llm.factory import CallMode, ModelSettings, build_chat_model
from simulator.llm.retry import RetryPolicy
from simulator.llm.types import ChatOptions, ModelCallError


async def converse(model_a, model_b, turns: int) -> list[str]:
    """Two agents alternate; each sees the other's last reply as the user turn."""
    said = ["Good morning. Is it yard time?"]
    for turn in range(turns):
        model = model_a if turn % 2 == 0 else model_b
        messages = [{"role": "system", "content": f"You are agent {turn % 2}."},
                    {"role": "user", "content": said[-1]}]
        reply = await model.chat(messages, ChatOptions(temperature=0.9, seed=100 + turn // 2))
        said.append(reply.text)
    return said[1:]


async def test_recorded_conversation_replays_identically_with_the_server_stopped(tools, tmp_path, store, settings):
    own_state = tmp_path / "ollama-to-stop"
    host = services.start_ollama(tools, own_state, services.free_port())
    live_settings = Settings(**{**settings.__dict__, "ollama_host": host})
    record = ModelSettings(retry=RetryPolicy(attempts=1, timeout=30), mode=CallMode.RECORD)
    recorded = await converse(build_chat_model("ollama/sim-tiny", live_settings, record, store.model_calls, "c1"),
                              build_chat_model("ollama/sim-tiny", live_settings, record, store.model_calls, "c1"),
                              turns=6)
    services.Service("ollama", own_state).stop()

    offline = ModelSettings(retry=RetryPolicy(attempts=1, timeout=5), mode=CallMode.LIVE)
    with pytest.raises(ModelCallError, match="connection"):
        await converse(build_chat_model("ollama/sim-tiny", live_settings, offline), None, turns=1)

    replay = ModelSettings(mode=CallMode.REPLAY)
    replayed = await converse(build_chat_model("ollama/sim-tiny", live_settings, replay, store.model_calls, "c1"),
                              build_chat_model("ollama/sim-tiny", live_settings, replay, store.model_calls, "c1"),
                              turns=6)
    assert replayed == recorded
    assert all(text.strip() for text in recorded)
    assert replay.meter.calls == 6 and replay.meter.completion_tokens == record.meter.completion_tokens


async def test_replaying_an_unrecorded_request_is_a_clear_error(store, settings):
    model = build_chat_model("ollama/sim-tiny", settings, ModelSettings(mode=CallMode.REPLAY), store.model_calls)
    with pytest.raises(ModelCallError, match="never recorded"):
        await model.chat([{"role": "user", "content": "never asked"}], ChatOptions())


async def test_same_request_twice_replays_both_answers_in_order(store, settings):
    record = ModelSettings(mode=CallMode.RECORD)
    model = build_chat_model("ollama/sim-tiny", settings, record, store.model_calls, scope="twice")
    messages = [{"role": "user", "content": "Say something."}]
    first = await model.chat(messages, ChatOptions(temperature=1.0))
    second = await model.chat(messages, ChatOptions(temperature=1.0))
    replay = build_chat_model("ollama/sim-tiny", settings, ModelSettings(mode=CallMode.REPLAY), store.model_calls,
                              scope="twice")
    assert [(await replay.chat(messages, ChatOptions(temperature=1.0))).text for _ in range(2)] == [first.text,
                                                                                                   second.text]
